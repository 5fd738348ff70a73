/**
 * Option checks, one message form for all of them (p-queue's: "Expected `concurrency` to be a number
 * from 1 and up, got 0").
 *
 * @internal
 */

/** A printable form of any received value (strings quoted, so `"4"` reads differently from `4`). */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

/** The error for option `name` that was `value` where `expected` was wanted. */
export function invalid(name: string, expected: string, value: unknown): RangeError {
  return new RangeError(`Expected \`${name}\` to be ${expected}, got ${shown(value)}`);
}

/** The TypeError for argument `name` that was `value` where `expected` was wanted. */
export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected \`${name}\` to be ${expected}, got ${shown(value)}`);
}

/**
 * Returns `value` if it is a safe integer from `min` to `max`, else throws a RangeError naming `name`
 * (whose message gives the whole range when there is a `max`).
 */
export function integerFrom(
  value: unknown,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  throw invalid(
    name,
    max === Number.MAX_SAFE_INTEGER ? `an integer from ${min} up` : `an integer from ${min} to ${max}`,
    value,
  );
}

/** {@link integerFrom} 1: a safe integer from 1 to `max`. */
export function positiveInteger(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  return integerFrom(value, name, 1, max);
}

/** The message of the TypeError for sending `undefined`. */
export const UNDEFINED_VALUE = "cannot send undefined: it marks the end of a channel";
