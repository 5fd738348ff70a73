/**
 * # grpc-mpsc: bounded async channels
 *
 * A channel is a queue with two ends: any number of {@link Sender} handles put values in, one
 * {@link Receiver} takes them out in order. It is the Tokio `mpsc` channel in TypeScript.
 *
 * **Backpressure.** `channel(capacity)` holds at most `capacity` values. When it is full,
 * `await tx.send(v)` waits until the receiver takes one, so a fast producer is slowed to the pace of
 * its consumer instead of filling memory. Waiting senders are served first come, first served.
 *
 * **Disconnection.** When every sender handle is closed, the receiver gets the values still buffered
 * and then the end (`recv()` resolves `undefined`, `for await` stops). When the receiver is closed,
 * or its `for await` loop is left early, every `send` rejects with a {@link SendError} that carries
 * the value back: a producer learns at once that nobody listens, and nothing is lost silently.
 *
 * **Clean shutdown.** Close the receiver first, then drain: `rx.close()` refuses new values but keeps
 * the buffered ones (and those of permits reserved before the close) receivable.
 *
 * @example
 * ```ts
 * import { channel } from "grpc-mpsc";
 *
 * const [tx, rx] = channel<string>(4);
 * const producer = (async () => {
 *   for (const word of ["hello", "bounded", "world"]) await tx.send(word);
 *   tx.close(); // the receiver's loop ends after the last value
 * })();
 * for await (const word of rx) console.log(word);
 * await producer;
 * ```
 *
 * **Interop.** {@link toReadable} and {@link toReadableStream} read a receiver as a Node or WHATWG
 * stream; {@link pipe} feeds any async iterable (a Node stream, an it-pushable, a generator) into a
 * sender, with backpressure both ways.
 *
 * This entry point never loads `@grpc/grpc-js`; the gRPC adapters live in `grpc-mpsc/grpc`.
 *
 * @module
 */
export { channel, unboundedChannel } from "./channel/channel.js";
export { SendError, TrySendError, type TrySendErrorKind } from "./channel/errors.js";
export type { ChannelOptions, Overflow } from "./channel/overflow.js";
export { Permit } from "./channel/permit.js";
export { Receiver, type TryRecvResult } from "./channel/receiver.js";
export { SelectOp } from "./channel/select-op.js";
export { Sender, type WaitOptions } from "./channel/sender.js";
export {
  BroadcastReceiver,
  BroadcastSender,
  type BroadcastTryRecvResult,
  broadcast,
  Lagged,
  RecvError,
  type Selected,
  type SelectOpResult,
  type SelectOptions,
  select,
  WatchReceiver,
  WatchSender,
  watch,
} from "./fanout/index.js";
export { type PipeOptions, pipe } from "./interop/pipe.js";
export { type ToReadableOptions, toReadable } from "./interop/readable.js";
export { toReadableStream } from "./interop/web-stream.js";
