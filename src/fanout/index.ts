/**
 * The fan-out toolkit, on the channel core's waiter lists: `broadcast` (every receiver gets every
 * value, a slow one lags), `watch` (the latest value), and `select` (the first of several channel
 * operations, the others untouched). Overflow policies for `channel` live beside the core
 * (`channel/overflow.ts`), as they are a kind of `Chan`.
 *
 * No oneshot channel, by decision. Tokio needs `oneshot` to hand one value from one task to another;
 * in JavaScript a promise (with its resolver) is exactly that, and every place here that hands over
 * one value already uses one: a parked waiter is a promise, `closed()` is a promise, the gRPC
 * adapters' final status is a promise. What Tokio's oneshot adds over a promise is that each side
 * learns when the other is dropped; here an `AbortSignal` (the receiving side gave up) and
 * `SendError` on a closed `channel(1)` cover that where it matters, and `channel(1)` with `recvOp()`
 * is the oneshot to use inside `select`. A separate type would add API and tests and make nothing
 * simpler.
 *
 * @internal
 */
export {
  type BroadcastOptions,
  BroadcastReceiver,
  BroadcastSender,
  type BroadcastTryRecvResult,
  broadcast,
  type SubscribeOptions,
} from "./broadcast.js";
export { Lagged, RecvError } from "./errors.js";
export { type Selected, type SelectOpResult, type SelectOptions, select } from "./select.js";
export { WatchReceiver, WatchSender, watch } from "./watch.js";
