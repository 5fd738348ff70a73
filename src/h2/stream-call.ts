/**
 * Listeners shared by every call. An idle stream should cost its call nothing per listener: instead
 * of closures made for each call (a function and the scope it keeps, for each event), a call's
 * stream carries the call under {@link CALL}, and each event has one function for all streams, which
 * Node calls with the stream as `this`. Its 'close' has one listener whoever hears of it (its call,
 * its connection's count of open calls): a second would make the event's listeners an array.
 *
 * @internal
 */

/** The property of a stream that holds its call. */
export const CALL: unique symbol = Symbol("grpc-mpsc/h2 call");
/** The property of a stream that holds the count of open calls it is in. */
const COUNT: unique symbol = Symbol("grpc-mpsc/h2 open calls");

/** A call, as its stream's 'close' tells it. */
export interface StreamCall {
  /** The stream closed. */
  streamClosed(): void;
}

/** A count of open calls (keepalive's `OpenCalls`). */
export interface CallCount {
  count: number;
}

/** A stream, as far as the shared listeners know it. */
export interface WatchedStream {
  on(event: "close", listener: () => void): unknown;
  [CALL]?: StreamCall;
  [COUNT]?: CallCount;
}

/** The one 'close' listener of every stream that has a call or is counted. */
function closed(this: WatchedStream): void {
  this[CALL]?.streamClosed();
  const count = this[COUNT];
  if (count !== undefined) count.count--;
}

/** Listens to `stream`'s 'close', unless it does already. */
function watchClose(stream: WatchedStream): void {
  if (stream[CALL] === undefined && stream[COUNT] === undefined) stream.on("close", closed);
}

/** Makes `call` the call of `stream`: the shared listeners reach it, and its 'close' tells it. */
export function setCall(stream: WatchedStream, call: StreamCall): void {
  watchClose(stream);
  stream[CALL] = call;
}

/** Counts `stream` in `count` (one more now, one less at its 'close'). */
export function countOpen(stream: WatchedStream, count: CallCount): void {
  watchClose(stream);
  stream[COUNT] = count;
  count.count++;
}

/**
 * The 'error' listener of every stream: an error is followed by 'close', which says how the call
 * ended (without a listener, an 'error' would be thrown).
 */
export function ignoreError(): void {}
