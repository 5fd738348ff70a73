/**
 * How a grpc-js **client** call ends: with 'status' (plus 'end' on the read side); it never emits
 * 'close' or 'drain' after that, so a write side that waits for 'drain' must watch 'status' too. A
 * cancel of ours is the outcome at once; grpc-js reports it later, as a bare CANCELLED. The server
 * side is `server-end.ts`.
 *
 * @internal
 */
import { type Metadata, type StatusObject, status } from "@grpc/grpc-js";
import { ignore } from "./ignore.js";
import { type CallStatus, type GrpcError, receivedError } from "./status.js";

/** The parts of a grpc-js client call that the end watcher uses. */
export interface ClientCallLike {
  /** Cancels the call (RST_STREAM CANCEL on the wire). */
  cancel(): void;
  /** Adds a listener. */
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/** How a client call ended: its OK status, or the error. */
export type ClientOutcome = CallStatus | GrpcError;

/**
 * Watches a client call for 'status' and 'metadata', and cancels it with a reason of ours. The
 * outcome is reported once through `onEnded`: the status the server sent, or at once the reason of
 * a local cancel (grpc-js reports that one later, as a bare CANCELLED).
 */
export class ClientCallEnd {
  /** The call's outcome, once it ended. */
  outcome: ClientOutcome | undefined;
  /** It ended by {@link ClientCallEnd.cancel}: this side cancelled it. */
  cancelledHere = false;
  readonly #call: ClientCallLike;
  readonly #onEnded: (outcome: ClientOutcome) => void;
  readonly #onHeaders: ((headers: Metadata) => void) | undefined;

  constructor(
    call: ClientCallLike,
    onEnded: (outcome: ClientOutcome) => void,
    onHeaders?: (headers: Metadata) => void,
  ) {
    this.#call = call;
    this.#onEnded = onEnded;
    this.#onHeaders = onHeaders;
    call.on("error", ignore); // reported through 'status'
    call.on("status", this.#onStatus);
    if (onHeaders !== undefined) call.on("metadata", onHeaders);
  }

  /**
   * Cancels the call with `reason` as its outcome (no-op once it ended). Every handle hears it at
   * once; the wire hears it a turn of the event loop later: grpc-js (1.14, with Node 20's http2)
   * loses a `cancel()` made in the same turn as a write to a stream it has just opened (the server
   * never hears of it, and its handler waits until the connection closes), which is just where
   * `await tx.send(x); cancel()` lands.
   */
  cancel(reason: GrpcError): void {
    if (this.outcome !== undefined) return;
    this.outcome = reason;
    this.cancelledHere = true;
    this.#onEnded(reason);
    setImmediate(cancelCall, this.#call);
  }

  #onStatus = (s: StatusObject): void => {
    if (this.outcome !== undefined) return;
    const outcome: ClientOutcome =
      s.code === status.OK
        ? { code: status.OK, details: typeof s.details === "string" ? s.details : "", metadata: s.metadata }
        : receivedError(s);
    this.outcome = outcome;
    this.#onEnded(outcome);
  };

  /** Whether a header callback was asked for (the caller wants a promise of them). */
  get watchesHeaders(): boolean {
    return this.#onHeaders !== undefined;
  }
}

function cancelCall(call: ClientCallLike): void {
  call.cancel();
}
