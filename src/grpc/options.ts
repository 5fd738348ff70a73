/** Validation of the adapters' options, in one place. @internal */
import { integerFrom, positiveInteger } from "../channel/index.js";

/** The capacity used when an adapter option is not given. */
export const DEFAULT_CAPACITY = 16;

/** Returns `value` (or the default) if it is a valid capacity, else throws a RangeError naming `name`. */
export function capacityOption(value: number | undefined, name: string): number {
  return value === undefined ? DEFAULT_CAPACITY : positiveInteger(value, name);
}

/**
 * Returns `value` if it is an HTTP/2 flow-control window (an integer from 0 to 2^31 - 1), `undefined`
 * if it is not given, else throws a RangeError naming `name`.
 */
export function windowOption(value: number | undefined, name: string): number | undefined {
  return value === undefined ? undefined : integerFrom(value, name, 0, 2 ** 31 - 1);
}
