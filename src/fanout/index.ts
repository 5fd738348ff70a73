/**
 * The fan-out toolkit, on the channel core's waiter lists: `broadcast` (every receiver gets every
 * value, a slow one lags), `watch` (the latest value), and `select` (the first of several channel
 * operations, the others untouched). Overflow policies for `channel` live beside the core
 * (`channel/overflow.ts`), as they are a kind of `Chan`.
 *
 * @internal
 */
export {
  BroadcastReceiver,
  BroadcastSender,
  type BroadcastTryRecvResult,
  broadcast,
} from "./broadcast.js";
export { Lagged, RecvError } from "./errors.js";
export { type Selected, type SelectOpResult, type SelectOptions, select } from "./select.js";
export { WatchReceiver, WatchSender, watch } from "./watch.js";
