/**
 * The channel core, as the rest of `src` imports it (the public facade is `src/index.ts`).
 *
 * @internal
 */
export { brand } from "./brand.js";
export { Chan, type ClosedBy } from "./chan.js";
export { channel, unboundedChannel } from "./channel.js";
export { SendError, TrySendError } from "./errors.js";
export { Permit } from "./permit.js";
export { Receiver } from "./receiver.js";
export { Sender } from "./sender.js";
export { type Sink, SinkChan } from "./sink.js";
export { invalid, invalidType, positiveInteger } from "./validate.js";
