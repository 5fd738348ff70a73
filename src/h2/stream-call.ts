/**
 * Listeners shared by every call. An idle stream should cost its call nothing per listener: instead
 * of closures made for each call (a function and the scope it keeps, for each event), a call's
 * stream carries the call under {@link CALL}, and each event has one function for all streams, which
 * Node calls with the stream as `this`.
 *
 * @internal
 */

/** The property of a stream that holds its call. */
export const CALL: unique symbol = Symbol("grpc-mpsc/h2 call");

/**
 * The 'error' listener of every stream: an error is followed by 'close', which says how the call
 * ended (without a listener, an 'error' would be thrown).
 */
export function ignoreError(): void {}
