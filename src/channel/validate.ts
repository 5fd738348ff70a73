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

/** Returns `value` if it is a safe integer >= 1, else throws a RangeError naming `name`. */
export function positiveInteger(value: unknown, name: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 1) return value;
  throw invalid(name, "an integer from 1 up", value);
}

/** The message of the TypeError for sending `undefined`. */
export const UNDEFINED_VALUE = "cannot send undefined: it marks the end of a channel";
