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
 * ## Fan-out: broadcast, watch, overflow policies, select
 *
 * A channel hands each value to one receiver. The fan-out toolkit (Tokio's `sync` module, in
 * camelCase) covers the other shapes, on the same waiter core:
 *
 * - {@link broadcast}: every receiver gets every value sent after it subscribed, in order. For events
 *   that every subscriber must see: price ticks, chat messages, "shut down" to every worker.
 * - {@link watch}: one current value; receivers read the latest and wait for it to change, skipping the
 *   values in between. For state: configuration, connection status, the latest snapshot.
 * - `channel(n, { overflow: "drop-oldest" | "drop-newest", onDrop })`: one consumer, and a producer
 *   that must never wait; every dropped value goes to `onDrop` and is counted.
 * - {@link select}: the first of several receives and sends to be ready completes; the others take
 *   and enqueue nothing (`Promise.race` over `recv()`s would lose a value to each loser).
 *
 * Which one: every value to exactly one consumer, with backpressure, is `channel` (mpsc). Every value
 * to every consumer, where a slow consumer must not slow the others, is `broadcast`. Only the latest
 * value matters: `watch`.
 *
 * **Lag and the memory bound.** A broadcast channel stores each value once, in a ring of `capacity`
 * slots; a receiver is only a position in that ring. Memory is therefore bounded by `capacity`
 * whatever the number of receivers and however slow they are: no per-receiver queue grows. The price
 * is that `send` never waits for a slow receiver. A receiver that falls more than `capacity` values
 * behind loses the oldest ones it had not read, and its next receive hands over a {@link Lagged}
 * (`missed`: exactly how many) in place of a value, then goes on with the oldest value still held.
 * A gap is never silent, and it is a result, not an exception, so the consumer's loop decides what
 * it means (skip, resynchronise from a `watch` snapshot, tell its client) and goes on. Choose
 * `capacity` as the burst a healthy receiver must absorb without loss.
 *
 * @example
 * ```ts
 * import { broadcast, Lagged } from "grpc-mpsc";
 *
 * const [tx, fast] = broadcast<number>(4);
 * const slow = tx.subscribe();
 * for (let i = 0; i < 6; i++) {
 *   tx.send(i); // never waits, whatever slow does
 *   console.log("fast", fast.tryRecv()); // keeps up: { ok: true, value: i }
 * }
 * tx.close();
 * for await (const item of slow) {
 *   if (item instanceof Lagged) console.log(`slow missed ${item.missed}`); // "slow missed 2"
 *   else console.log("slow", item); // 2, 3, 4, 5
 * }
 * ```
 *
 * There is no oneshot channel: in JavaScript a promise hands over one value, and `channel(1)` is the
 * one to use inside `select`.
 *
 * **Interop.** {@link toReadableStream} reads a receiver as a WHATWG stream; {@link pipe} feeds any
 * async iterable (a Node stream, an it-pushable, a generator) into a sender, with backpressure both
 * ways. A receiver read as a Node `Readable` is `toReadable` in `grpc-mpsc/node`.
 *
 * **Observability.** Channels publish `node:diagnostics_channel` events where the runtime has it
 * ({@link channelEvents}: parked sends and their wait, drops, broadcast lag), free while nobody
 * subscribes, and `metrics()` on every handle gives a snapshot of its counters.
 *
 * **Runtimes.** This entry point imports no Node built-in and needs no `setImmediate`: it runs, and
 * bundles, for Node, Bun, Deno, browsers and workers. It never loads `@grpc/grpc-js`; the gRPC
 * adapters live in `grpc-mpsc/grpc`.
 *
 * @module
 */
export { channel, unboundedChannel } from "./channel/channel.js";
export {
  SendError,
  SendTimeoutError,
  type SendTimeoutErrorKind,
  TrySendError,
  type TrySendErrorKind,
} from "./channel/errors.js";
export {
  channelEvents,
  type DropEvent,
  type LagEvent,
  type SendWaitEvent,
} from "./channel/events.js";
export type { ChannelMetrics } from "./channel/metrics.js";
export type { ChannelOptions, Overflow } from "./channel/overflow.js";
export { Permit } from "./channel/permit.js";
export { Receiver, type TryRecvResult } from "./channel/receiver.js";
export { SelectOp } from "./channel/select-op.js";
export { Sender, type WaitOptions, WeakSender } from "./channel/sender.js";
export {
  type BroadcastOptions,
  BroadcastReceiver,
  BroadcastSender,
  type BroadcastTryRecvResult,
  broadcast,
  Lagged,
  RecvError,
  type Selected,
  type SelectOpResult,
  type SelectOptions,
  type SubscribeOptions,
  select,
  WatchReceiver,
  WatchSender,
  watch,
} from "./fanout/index.js";
export type { BroadcastMetrics, BroadcastReceiverMetrics } from "./fanout/metrics.js";
export { type PipeOptions, pipe } from "./interop/pipe.js";
export { toReadableStream } from "./interop/web-stream.js";
