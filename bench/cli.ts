/**
 * The runner's command line: `--quick`, `--only=section,...`, `--reps=N`.
 */

/** Kinds of repetition count a case may ask for (see {@link RunOptions.reps}). */
export type RepsKind = "default" | "throughput" | "few";

/** How this run was asked for. */
export interface RunOptions {
  /** The same cases with fewer messages and repetitions: under a minute, saved as `quick.*`. */
  readonly quick: boolean;
  /** `--only=channel,echo,...`: the sections to run; `undefined` runs every one. */
  readonly only: readonly string[] | undefined;
  /**
   * Repetitions per configuration, by kind: `default` 5 (3 with `--quick`); `throughput`, the gRPC
   * rates whose noise comes in bursts of seconds, 9 (3 with `--quick`); `few`, for figures that hardly
   * vary from run to run and cost seconds each (peak RSS, heap per stream), 3 (1 with `--quick`).
   * `--reps=N` sets every one.
   */
  readonly reps: Readonly<Record<RepsKind, number>>;
  /** A run narrowed by `--only` or `--reps`: its results are printed, not saved. */
  readonly partial: boolean;
}

/** Parses the runner's arguments (`process.argv.slice(2)`). @throws RangeError for a bad `--reps`. */
export function parseArgs(argv: readonly string[]): RunOptions {
  const arg = (name: string): string | undefined =>
    argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const quick = argv.includes("--quick");
  const only = arg("only")
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const repsArg = arg("reps");
  const n = Number(repsArg);
  if (repsArg !== undefined && (!Number.isInteger(n) || n < 1)) {
    throw new RangeError(`--reps must be an integer >= 1, got ${repsArg}`);
  }
  const reps =
    repsArg !== undefined
      ? { default: n, throughput: n, few: n }
      : quick
        ? { default: 3, throughput: 3, few: 1 }
        : { default: 5, throughput: 9, few: 3 };
  return { quick, only, reps, partial: only !== undefined || repsArg !== undefined };
}
