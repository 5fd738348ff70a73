/**
 * The channel core, as the rest of `src` imports it (the public facade is `src/index.ts`).
 *
 * @internal
 */
export { brand } from "./brand.js";
export {
  ADMITTED,
  Chan,
  type ClosedBy,
  ITERATION_DONE,
  REFUSED,
  ready,
  readyRejection,
  readyVoid,
} from "./chan.js";
export { channel, unboundedChannel } from "./channel.js";
export {
  type DiagnosticsChannel,
  diagnosticsChannel,
  isTraced,
  now,
  type TracingChannels,
  tracingChannels,
} from "./diagnostics.js";
export { SendError, SendTimeoutError, type SendTimeoutErrorKind, TrySendError } from "./errors.js";
export { Permit } from "./permit.js";
export { Receiver, type TryRecvResult } from "./receiver.js";
export { type Branch, NOT_READY, SelectOp } from "./select-op.js";
export { Sender, type WaitOptions, WeakSender } from "./sender.js";
export { type Sink, SinkChan } from "./sink.js";
export { integerFrom, invalid, invalidType, positiveInteger, UNDEFINED_VALUE } from "./validate.js";
export { type AbortSink, abortedAlready, NEXT, RECV, Waiter, WaitList } from "./waiters.js";
