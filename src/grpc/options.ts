/** Validation of the adapters' options, in one place. @internal */

/** The capacity used when an adapter option is not given. */
export const DEFAULT_CAPACITY = 16;

/** Returns `value` (or the default) if it is a valid channel capacity, else throws a RangeError naming `name`. */
export function capacityOption(value: number | undefined, name: string): number {
  if (value === undefined) return DEFAULT_CAPACITY;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}
