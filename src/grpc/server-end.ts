/**
 * How a grpc-js **server** call ends, watched once per call and told to the read pump, the writer
 * and the handler's context. A server call ends with 'cancelled' (emitted at the end of every call
 * since grpc-js 1.10: only one that comes before the handler finished counts) and 'close'. On a
 * client cancel, grpc-js 1.14 emits 'end' first, exactly as on a half-close, then 'cancelled' and
 * 'close' in the same turn of the event loop or the next: so a read side that sees 'end' waits before
 * it calls it a half-close ({@link ServerCallEnd.confirmHalfClose}).
 *
 * grpc-js does not tell the handler why it ended a call: the status it sent itself (a message over
 * the size limit, an undecodable message, its deadline timer) is read from the HTTP/2 stream's
 * headers or trailers where grpc-js keeps that stream, else inferred (deadline passed, or cancelled).
 * Every such read of grpc-js's private fields is in `internals.ts`, which says what each costs when a
 * grpc-js release moves it. The client side is `client-end.ts`.
 *
 * @internal
 */
import { type Metadata, status } from "@grpc/grpc-js";
import { resetAtDeadline } from "./deadline.js";
import { ignore } from "./ignore.js";
import {
  http2ServerOfSession,
  http2ServersOf,
  isSessionDestroyed,
  rstCodeOf,
  sentStatusOf,
  serverCallHttp2Stream,
  sessionOf,
} from "./internals.js";
import { afterRoundTrip } from "./round-trip.js";
import { type GrpcError, isExplicitStatus, statusError } from "./status.js";

/** The parts of a grpc-js server call that the end watcher uses. */
export interface ServerCallLike {
  /** grpc-js sets it when the call is cancelled (or ended). */
  readonly cancelled: boolean;
  /** The request metadata. */
  readonly metadata: Metadata;
  /** The deadline: a Date, epoch ms, or Infinity. */
  getDeadline(): Date | number;
  /** Adds a listener. */
  on(event: string, listener: () => void): unknown;
  /** Removes a listener. */
  removeListener(event: string, listener: () => void): unknown;
  /** Emits an event: an 'error' ends the call with its status. */
  emit(event: string, ...args: unknown[]): boolean;
}

/** The call's deadline in epoch ms (Infinity when none). */
export function deadlineOf(call: ServerCallLike): number {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return typeof ms === "number" && !Number.isNaN(ms) ? ms : Number.POSITIVE_INFINITY;
}

/** nghttp2's RST_STREAM code for a cancel. */
const NGHTTP2_CANCEL = 8;

/** Why a server call ended before its handler finished. */
function serverEndReason(call: ServerCallLike, deadline: number, session: unknown): GrpcError {
  const stream = serverCallHttp2Stream(call);
  const sent = sentStatusOf(stream);
  if (sent !== undefined) return statusError(sent.code, sent.details);
  if (resetAtDeadline(deadline)) return statusError(status.DEADLINE_EXCEEDED, "deadline exceeded");
  if (stream === undefined) return statusError(status.CANCELLED, "cancelled by the client");
  const http2Server = http2ServerOfSession(session);
  if (http2Server !== undefined && forcedShutdowns.has(http2Server)) {
    return statusError(status.UNAVAILABLE, "the server shut down");
  }
  const rstCode = rstCodeOf(stream);
  if (rstCode === NGHTTP2_CANCEL && !isSessionDestroyed(session)) {
    return statusError(status.CANCELLED, "cancelled by the client");
  }
  if (typeof rstCode === "number" && rstCode !== 0 && rstCode !== NGHTTP2_CANCEL) {
    return statusError(status.CANCELLED, `${RESET_BY_CLIENT} (HTTP/2 error code ${rstCode})`);
  }
  return statusError(status.CANCELLED, CONNECTION_LOST);
}

/** The details of a server call whose client's connection was lost. */
const CONNECTION_LOST = "the client's connection was lost";
/** How the details of a server call reset with a code other than CANCEL begin (Node resets a dead session's streams with INTERNAL_ERROR). */
const RESET_BY_CLIENT = "the client reset the stream";

/**
 * Whether `reason`, from {@link ServerCallEnd}, says the client's connection went rather than that
 * the client cancelled: the connection was lost, or the stream was reset with a code other than
 * CANCEL (what Node does to the streams of a session whose socket closed, as when a client process dies).
 */
export function isConnectionLoss(reason: GrpcError): boolean {
  return reason.details === CONNECTION_LOST || reason.details.startsWith(RESET_BY_CLIENT);
}

/** The HTTP/2 servers of grpc-js servers that {@link shutdownServer} forced closed. */
const forcedShutdowns = new WeakSet<object>();

/**
 * Remembers that `server` (a grpc-js Server) is being forced closed, so that its handlers read the
 * resets that follow as the server's shutdown (UNAVAILABLE), not as their clients' cancels: a forced
 * shutdown resets every stream with the same code a client's cancel carries.
 */
export function markForcedShutdown(server: object): void {
  for (const http2Server of http2ServersOf(server)) forcedShutdowns.add(http2Server);
}

/** Live server calls per shutdown signal: one 'abort' listener per signal, not one per call. */
const shutdownWatch = new WeakMap<AbortSignal, Set<ServerCallEnd>>();

/** The reason a shutdown gives the calls it ends. */
function shutdownReason(signal: AbortSignal): GrpcError {
  const reason: unknown = signal.reason;
  if (isExplicitStatus(reason)) return reason;
  return statusError(status.UNAVAILABLE, "the server is shutting down", reason);
}

/** The handler runs with its `responses` open; the client's messages may still come. */
export const RUNNING = 0;
/** The handler returned while a clone of its `responses` is open: the call ends OK once the last one closes. */
export const RETURNED = 1;
/**
 * Every `responses` handle is closed and all they sent was handed to the call, while the handler
 * still runs: the call ends OK once it returns.
 */
export const WRITES_ENDED = 2;
/**
 * The handler's outcome is being sent (OK with `ctx.trailers`, or its error's status): the end events
 * grpc-js emits from now on are the call's normal end, not news.
 */
export const FINISHED = 3;
/**
 * The call ended before the handler finished: the client cancelled or its connection was lost, the
 * deadline passed, or grpc-js sent a status by itself; `reason` says which, and nothing more goes to
 * the call.
 */
export const ENDED = 4;
/** A server shutdown of ours ended the call before the handler finished: `reason` is its status. */
export const SHUT_DOWN = 5;
/** Where a server call stands: one of the constants above (the low three bits of its `phase`). */
export type ServerStage =
  | typeof RUNNING
  | typeof RETURNED
  | typeof WRITES_ENDED
  | typeof FINISHED
  | typeof ENDED
  | typeof SHUT_DOWN;
/**
 * Added to a server call's stage once the client's messages ended ('end'): its half-close, or the
 * first half of a cancel until {@link ServerCallEnd.confirmHalfClose} tells. The request direction
 * ends on its own, in any stage: a half-close ends only the client's direction.
 */
export const HALF_CLOSED = 8;
/** The mask of a phase's stage. */
const STAGE = 7;

/** What moves a server call's stage ({@link ServerCallEnd.advance}). */
export type ServerEvent = "returned" | "writesEnded" | "status" | "ended" | "shutdown";

/**
 * The stage after `event` in `stage`: the one table of a server call's transitions. The first three
 * stages are the handler's; {@link FINISHED}, {@link ENDED} and {@link SHUT_DOWN} are final.
 *
 * | stage \ event | returned | writesEnded | status | ended | shutdown |
 * | --- | --- | --- | --- | --- | --- |
 * | RUNNING | RETURNED | WRITES_ENDED | FINISHED | ENDED | SHUT_DOWN |
 * | RETURNED | — | FINISHED (OK) | FINISHED | ENDED | SHUT_DOWN |
 * | WRITES_ENDED | FINISHED (OK) | — | FINISHED | ENDED | SHUT_DOWN |
 * | FINISHED, ENDED, SHUT_DOWN | — | — | — | — | — |
 */
function serverNext(stage: ServerStage, event: ServerEvent): ServerStage {
  if (stage >= FINISHED) return stage;
  switch (event) {
    case "returned":
      return stage === WRITES_ENDED ? FINISHED : RETURNED;
    case "writesEnded":
      return stage === RETURNED ? FINISHED : WRITES_ENDED;
    case "status":
      return FINISHED;
    case "ended":
      return ENDED;
    case "shutdown":
      return SHUT_DOWN;
  }
}

/**
 * One server call's end and its phase: watches the call for its end before the handler finished
 * (client cancel, deadline, a status grpc-js sent by itself, lost connection, or a server shutdown of
 * ours, through a signal) and reports it once through {@link ServerCallEnd.ended}. The handler's own
 * way to the end (it returned, its responses closed, its status claimed) moves the same phase, in
 * {@link ServerCallEnd.advance}: the handler wrappers' call (`server.ts`) is a subclass, so a call is
 * one object; {@link watchServerCall} is the watcher alone.
 */
export abstract class ServerCallEnd {
  /** The stage (one of {@link RUNNING} to {@link SHUT_DOWN}), plus {@link HALF_CLOSED} once the client's messages ended. */
  phase: number = RUNNING;
  /** Why the call ended before the handler finished: set in {@link ENDED} and {@link SHUT_DOWN} only. */
  reason: GrpcError | undefined;
  /** The call's deadline in epoch ms (Infinity when none), read once. */
  readonly deadline: number;
  /** The grpc-js call watched. */
  protected readonly call: ServerCallLike;
  readonly #shutdown: AbortSignal | undefined;
  /** The call's HTTP/2 session, where grpc-js lets us reach it (a closed stream forgets its session). */
  readonly #session: unknown;

  constructor(call: ServerCallLike, shutdown: AbortSignal | undefined) {
    this.call = call;
    this.deadline = deadlineOf(call);
    this.#shutdown = shutdown;
    this.#session = sessionOf(serverCallHttp2Stream(call));
    call.on("error", ignore); // an 'error' with no listener would crash the process
    call.on("cancelled", this.#onCancelled);
    call.on("close", this.#onCancelled);
    if (shutdown !== undefined) {
      if (shutdown.aborted) {
        queueMicrotask(() => this.abort(shutdownReason(shutdown)));
      } else {
        let calls = shutdownWatch.get(shutdown);
        if (calls === undefined) {
          const set = new Set<ServerCallEnd>();
          calls = set;
          shutdownWatch.set(shutdown, set);
          shutdown.addEventListener(
            "abort",
            () => {
              const reason = shutdownReason(shutdown);
              for (const end of [...set]) end.abort(reason);
            },
            { once: true },
          );
        }
        calls.add(this);
      }
    }
    if (call.cancelled) queueMicrotask(this.#onCancelled);
  }

  /** The call ended before the handler finished (`reason` is set): every handle learns it now. */
  protected abstract ended(reason: GrpcError): void;

  /** Where the call stands, without the {@link HALF_CLOSED} mark. */
  get stage(): ServerStage {
    return (this.phase & STAGE) as ServerStage;
  }

  /** Whether the call is over for the handler: ended before it finished, or it finished. */
  get over(): boolean {
    return this.stage >= FINISHED;
  }

  /** Whether the client's messages ended ('end'), whatever the stage. */
  get halfClosed(): boolean {
    return (this.phase & HALF_CLOSED) !== 0;
  }

  /**
   * Moves the stage on `event` ({@link serverNext}'s table); the end watch stops once the call is
   * over. Returns whether the stage moved.
   */
  protected advance(event: ServerEvent): boolean {
    const stage = this.stage;
    const next = serverNext(stage, event);
    if (next === stage) return false;
    this.phase = next | (this.phase & HALF_CLOSED);
    if (next >= FINISHED) this.#stop();
    return true;
  }

  /** Ends the call now with `reason` sent as its status (a server shutdown). */
  abort(reason: GrpcError): void {
    if (this.over) return;
    this.reason = reason;
    this.advance("shutdown");
    this.ended(reason);
    this.call.emit("error", reason);
  }

  /**
   * The request stream ended ('end'): marks the phase {@link HALF_CLOSED} and reports a half-close
   * (`null`), or the reason the call ended if it turns out to be a cancel. A grpc-js client that
   * cancels ends its side of the stream (END_STREAM) just before it resets it (RST_STREAM), in two
   * writes: on loopback the reset is read in the same or the next poll phase (none later in 800
   * cancels measured here), over a slow link milliseconds later. So after two turns of the event loop
   * the server pings the client: the client sends the answer after the reset, and TCP keeps that
   * order, so once the answer is in, a reset that was coming has come.
   */
  confirmHalfClose(then: (reason: GrpcError | null) => void): void {
    this.phase |= HALF_CLOSED;
    setImmediate(() =>
      setImmediate(() => {
        if (this.reason !== undefined) then(this.reason);
        else afterRoundTrip(this.#session, () => then(this.reason ?? null));
      }),
    );
  }

  #onCancelled = (): void => {
    if (this.over) return;
    const reason = serverEndReason(this.call, this.deadline, this.#session);
    this.reason = reason;
    this.advance("ended");
    this.ended(reason);
  };

  #stop(): void {
    this.call.removeListener("cancelled", this.#onCancelled);
    this.call.removeListener("close", this.#onCancelled);
    const shutdown = this.#shutdown;
    if (shutdown !== undefined) shutdownWatch.get(shutdown)?.delete(this);
  }
}

/** The end watcher alone, for a raw grpc-js call (`receiveFrom`, `sendTo`). */
class WatchedServerCall extends ServerCallEnd {
  readonly #onEnded: (reason: GrpcError) => void;

  constructor(call: ServerCallLike, onEnded: (reason: GrpcError) => void) {
    super(call, undefined);
    this.#onEnded = onEnded;
  }

  protected ended(reason: GrpcError): void {
    this.#onEnded(reason);
  }

  /** The caller's outcome is being sent: later events are the call's normal end. */
  finish(): void {
    this.advance("status");
  }
}

/**
 * Watches a raw server call for its end before its user finished: `onEnded` hears it once, unless
 * `finish()` came first. What `receiveFrom` and `sendTo` use on a server call.
 */
export function watchServerCall(
  call: ServerCallLike,
  onEnded: (reason: GrpcError) => void,
): { finish(): void; confirmHalfClose(then: (reason: GrpcError | null) => void): void } {
  return new WatchedServerCall(call, onEnded);
}
