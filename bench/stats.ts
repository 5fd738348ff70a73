/** The statistics the benchmark reports, kept apart from the runner so that they are tested. */

/** Median, min and max of a sample. */
export interface Stat {
  median: number;
  min: number;
  max: number;
}

/** Median (the mean of the two middle values for an even count), min and max; NaN for no values. */
export function stat(xs: readonly number[]): Stat {
  if (xs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] as number, max: s[s.length - 1] as number };
}

/**
 * `x / y` for two implementations measured in the same rounds (`x[r]` and `y[r]` ran seconds apart):
 * the median of the per-round ratios. A slowdown of the machine that spans a round divides out, where
 * a ratio of the two medians would charge it to whichever implementation it hit more often.
 *
 * @throws RangeError if the two samples are not of the same rounds (different lengths) or empty.
 */
export function pairedRatio(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length || x.length === 0) {
    throw new RangeError(`pairedRatio: need two samples of the same rounds, got ${x.length} and ${y.length}`);
  }
  return stat(x.map((v, r) => v / (y[r] as number))).median;
}
