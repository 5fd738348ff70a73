/**
 * A round trip to a peer: everything it sent before it answered a PING has arrived. How both
 * transports' servers tell a client's half-close from the first half of its cancel (Node sends
 * END_STREAM before RST_STREAM when it resets a stream whose side is open: see `src/h2/reset.ts`).
 *
 * @internal
 */
import { sessionPing } from "./internals.js";

/** How long to wait for a PING's answer before taking a half-close as one anyway. */
const PING_PATIENCE_MS = 1000;

/** Confirmations waiting for the next PING of a session, sent once for all of them. */
const pingBatches = new WeakMap<object, (() => void)[]>();

/**
 * Calls `then` once everything the peer of `session` sent before it answers a PING sent now has
 * arrived and been handled (a turn after the answer), or after {@link PING_PATIENCE_MS} if no answer
 * comes; at once (a turn later) if the session cannot be pinged. Confirmations in one turn share a PING.
 */
export function afterRoundTrip(session: unknown, then: () => void): void {
  const ping = sessionPing(session);
  if (typeof session !== "object" || session === null || ping === undefined) {
    setImmediate(then);
    return;
  }
  const waiting = pingBatches.get(session);
  if (waiting !== undefined) {
    waiting.push(then);
    return;
  }
  const batch = [then];
  pingBatches.set(session, batch);
  setImmediate(() => {
    pingBatches.delete(session);
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      clearTimeout(patience);
      setImmediate(() => {
        for (const confirm of batch) confirm();
      });
    };
    const patience = setTimeout(release, PING_PATIENCE_MS);
    patience.unref();
    let sent = false;
    try {
      sent = ping(release);
    } catch {
      // the session is closing: its streams' ends are already on their way
    }
    if (!sent) release();
  });
}
