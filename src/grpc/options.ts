/** Validation of the adapters' options, in one place. @internal */
import { integerFrom, positiveInteger } from "../channel/index.js";

/** The capacity used when an adapter option is not given. */
export const DEFAULT_CAPACITY = 16;

/** Returns `value` (or the default) if it is a valid capacity, else throws a RangeError naming `name`. */
export function capacityOption(value: number | undefined, name: string): number {
  return value === undefined ? DEFAULT_CAPACITY : positiveInteger(value, name);
}

/**
 * Returns `value` if it is an HTTP/2 flow-control window (an integer from 1 to 2^31 - 1), `undefined`
 * if it is not given, else throws a RangeError naming `name`. HTTP/2 allows 0, but Node's nghttp2
 * sends a WINDOW_UPDATE only for bytes received: a window of 0 would never open (a stream's lets no
 * DATA through; a connection's shuts once the peer's first 65,535 bytes are in).
 */
export function windowOption(value: number | undefined, name: string): number | undefined {
  return value === undefined ? undefined : integerFrom(value, name, 1, 2 ** 31 - 1);
}
