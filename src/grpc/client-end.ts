/**
 * How a grpc-js **client** call ends: with 'status' (plus 'end' on the read side); it never emits
 * 'close' or 'drain' after that, so a write side that waits for 'drain' must watch 'status' too. A
 * cancel of ours is the outcome at once; grpc-js reports it later, as a bare CANCELLED. The server
 * side is `server-end.ts`.
 *
 * @internal
 */
import { type StatusObject, status } from "@grpc/grpc-js";
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
 * Watches /** The call runs with both its halves in use (or never made). */
export const OPEN = 0;
/**
 * The response receiver was collected unclosed: responses are read and dropped, and the call goes on
 * while its `tx` is in use.
 */
export const RX_GONE = 1;
/** The request sender was collected unclosed while `rx` is in use: the call goes on, not half-closed. */
export const TX_GONE = 2;
/** The call ended with the status the server sent (or grpc-js's own): `outcome` is it. */
export const ENDED = 3;
/**
 * This side cancelled the call (`cancel()`, the signal, `rx` closed, `tx` aborted, both halves
 * collected): `outcome` is the cancel's reason, at once; the wire hears it a turn later.
 */
export const CANCELLED = 4;
/** Where a client call stands: one of the constants above (the low three bits of its `phase`). */
export type ClientStage = typeof OPEN | typeof RX_GONE | typeof TX_GONE | typeof ENDED | typeof CANCELLED;
/**
 * Added to a client call's stage once grpc-js has handed over every response ('end', which comes
 * with the status, before or after it): the receiver ends once the outcome is known too.
 */
export const READ_ENDED = 8;
/** The mask of a phase's stage. */
const STAGE = 7;

/** What moves a client call's stage ({@link ClientCallEnd.advance}). */
export type ClientEvent = "rxGone" | "txGone" | "status" | "cancel";

/**
 * The stage after `event` in `stage`: the one table of a client call's transitions. A half collected
 * after the other one cancels the call; {@link ENDED} and {@link CANCELLED} are final.
 *
 * | stage \ event | rxGone | txGone | status | cancel |
 * | --- | --- | --- | --- | --- |
 * | OPEN | RX_GONE | TX_GONE | ENDED | CANCELLED |
 * | RX_GONE | — | CANCELLED | ENDED | CANCELLED |
 * | TX_GONE | CANCELLED | — | ENDED | CANCELLED |
 * | ENDED, CANCELLED | — | — | — | — |
 */
function clientNext(stage: ClientStage, event: ClientEvent): ClientStage {
  if (stage >= ENDED) return stage;
  switch (event) {
    case "rxGone":
      return stage === TX_GONE ? CANCELLED : RX_GONE;
    case "txGone":
      return stage === RX_GONE ? CANCELLED : TX_GONE;
    case "status":
      return ENDED;
    case "cancel":
      return CANCELLED;
  }
}

/**
 * One client call's end and its phase: watches the call for 'status', cancels it with a reason of
 * ours, and moves the phase on what the caller does with the call's halves, in
 * {@link ClientCallEnd.advance}. The outcome is reported once through {@link ClientCallEnd.ended}:
 * the status the server sent, or at once the reason of a local cancel (grpc-js reports that one
 * later, as a bare CANCELLED). The call helpers' call (`client.ts`) is a subclass, so a call is one
 * object; {@link watchClientCall} is the watcher alone.
 */
export abstract class ClientCallEnd {
  /** The stage (one of {@link OPEN} to {@link CANCELLED}), plus {@link READ_ENDED} once every response was handed over. */
  phase: number = OPEN;
  /** The call's outcome: set in {@link ENDED} and {@link CANCELLED} only. */
  outcome: ClientOutcome | undefined;
  /** The grpc-js call watched. */
  protected readonly call: ClientCallLike;

  constructor(call: ClientCallLike) {
    this.call = call;
    call.on("error", ignore); // reported through 'status'
    call.on("status", this.#onStatus);
  }

  /** The call ended with `outcome` (`local`: this side cancelled it): every handle learns it now. */
  protected abstract ended(outcome: ClientOutcome, local: boolean): void;

  /** Where the call stands, without the {@link READ_ENDED} mark. */
  get stage(): ClientStage {
    return (this.phase & STAGE) as ClientStage;
  }

  /** Whether grpc-js has handed over every response ('end'). */
  get allRead(): boolean {
    return (this.phase & READ_ENDED) !== 0;
  }

  /** Marks the phase {@link READ_ENDED}. */
  protected markReadEnded(): void {
    this.phase |= READ_ENDED;
  }

  /**
   * Moves the stage on `event` ({@link clientNext}'s table). Into {@link ENDED} or {@link CANCELLED},
   * `outcome` becomes the call's (for an event that may cancel, the reason if it does) and
   * {@link ClientCallEnd.ended} hears it; a cancel reaches the wire a turn of the event loop later:
   * grpc-js (1.14, with Node 20's http2) loses a `cancel()` made in the same turn as a write to a
   * stream it has just opened (the server never hears of it, and its handler waits until the
   * connection closes), which is just where `await tx.send(x); cancel()` lands.
   */
  protected advance(event: ClientEvent, outcome: ClientOutcome): void {
    const stage = this.stage;
    const next = clientNext(stage, event);
    if (next === stage) return;
    this.phase = next | (this.phase & READ_ENDED);
    if (next < ENDED) return;
    this.outcome = outcome;
    this.ended(outcome, next === CANCELLED);
    if (next === CANCELLED) setImmediate(cancelCall, this.call);
  }

  /** Cancels the call with `reason` as its outcome (no-op once it ended). */
  cancelWith(reason: GrpcError): void {
    this.advance("cancel", reason);
  }

  #onStatus = (s: StatusObject): void => {
    if (this.stage >= ENDED) return;
    const outcome: ClientOutcome =
      s.code === status.OK
        ? { code: status.OK, details: typeof s.details === "string" ? s.details : "", metadata: s.metadata }
        : receivedError(s);
    this.advance("status", outcome);
  };
}

/** The end watcher alone, for a raw grpc-js call (`receiveFrom`, `sendTo`). */
class WatchedClientCall extends ClientCallEnd {
  readonly #onEnded: (outcome: ClientOutcome) => void;

  constructor(call: ClientCallLike, onEnded: (outcome: ClientOutcome) => void) {
    super(call);
    this.#onEnded = onEnded;
  }

  protected ended(outcome: ClientOutcome): void {
    this.#onEnded(outcome);
  }
}

/**
 * Watches a raw client call for its end: `onEnded` hears the outcome once, the server's status or
 * the reason given to `cancelWith`. What `receiveFrom` and `sendTo` use on a client call.
 */
export function watchClientCall(
  call: ClientCallLike,
  onEnded: (outcome: ClientOutcome) => void,
): { cancelWith(reason: GrpcError): void } {
  return new WatchedClientCall(call, onEnded);
}

function cancelCall(call: ClientCallLike): void {
  call.cancel();
}
