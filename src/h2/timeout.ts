/**
 * The `grpc-timeout` header: at most 8 ASCII digits and a unit, `H` hours, `M` minutes, `S` seconds,
 * `m` milliseconds, `u` microseconds, `n` nanoseconds (gRPC over HTTP/2, "Requests").
 *
 * @internal
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/** The timeout in `value`, in milliseconds, or `undefined` when it is not a valid `grpc-timeout`. */
export function parseTimeout(value: string): number | undefined {
  const m = TIMEOUT.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/** The largest number a `grpc-timeout` carries (8 digits). */
const MAX_DIGITS = 99_999_999;

/**
 * `ms` as a `grpc-timeout`, in the finest unit whose count fits in 8 digits, rounded up (a deadline
 * must not come early): 1500 → `"1500m"`, 0.25 → `"250u"`, a day → `"86400S"`.
 */
export function formatTimeout(ms: number): string {
  const t = Math.max(0, ms);
  for (const [unit, size] of [
    ["n", 1e-6],
    ["u", 1e-3],
    ["m", 1],
    ["S", 1000],
    ["M", 60_000],
    ["H", 3_600_000],
  ] as const) {
    const count = Math.ceil(t / size - 1e-9);
    if (count <= MAX_DIGITS) return `${count}${unit}`;
  }
  return `${MAX_DIGITS}H`;
}

/** The longest delay a timer holds (2^31 - 1 ms, about 24.8 days): Node fires a longer one after 1 ms. */
export const LONGEST_TIMER = 2 ** 31 - 1;

/**
 * Calls `fn` once `ms` have passed (NaN or Infinity: never), in steps for a delay longer than a
 * timer holds; returns what cancels it.
 */
export function after(ms: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const wait = (left: number): void => {
    if (!(left < Number.POSITIVE_INFINITY)) return;
    timer =
      left > LONGEST_TIMER ? setTimeout(wait, LONGEST_TIMER, left - LONGEST_TIMER) : setTimeout(fn, left);
  };
  wait(ms);
  return () => clearTimeout(timer);
}
