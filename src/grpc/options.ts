/** Validation of the adapters' options, in one place. @internal */
import { positiveInteger } from "../channel/index.js";

/** The capacity used when an adapter option is not given. */
export const DEFAULT_CAPACITY = 16;

/** Returns `value` (or the default) if it is a valid capacity, else throws a RangeError naming `name`. */
export function capacityOption(value: number | undefined, name: string): number {
  return value === undefined ? DEFAULT_CAPACITY : positiveInteger(value, name);
}
