/**
 * Server-handler wrappers: `async (requests, responses, ctx) => { ... }` instead of raw grpc-js calls.
 *
 * @module
 */
import {
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type Metadata,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { type Receiver, SendError, type Sender } from "../channel/index.js";
import { SignalledContext } from "./call-context.js";
import {
  type CallEnding,
  type CallMetrics,
  type CallTrace,
  callMetrics,
  endTrace,
  publishCancel,
  publishShutdown,
  runTraced,
  serverEnding,
  serverTrace,
  singleBytes,
} from "./events.js";
import type { GrpcError as AnyGrpcError } from "./grpc-error.js";
import { isWayOut, settle, wireStatus } from "./handler-outcome.js";
import { emptyLike, headerBytes, mergeInto } from "./metadata.js";
import { capacityOption } from "./options.js";
import { type ReadOwner, ReadPump } from "./read.js";
import { logError, reportTo, UnsentReport } from "./report.js";
import { FINISHED, isConnectionLoss, ServerCallEnd, SHUT_DOWN } from "./server-end.js";
import { GrpcError, statusError } from "./status.js";
import { CallWriter, endedBy, type WriteOwner } from "./write.js";

/** What a handler knows about its call. */
export interface ServerContext {
  /** The full method name, e.g. `/messages.MessageService/StreamMessages`. */
  readonly method: string;
  /** The request metadata. */
  readonly metadata: Metadata;
  /** The client's deadline, or `undefined` when it set none. */
  readonly deadline: Date | undefined;
  /**
   * Aborts when the call ends before the handler finished. Its reason is a {@link GrpcError}:
   * `CANCELLED` (the client cancelled or its connection was lost), `DEADLINE_EXCEEDED`, `UNAVAILABLE`
   * (the server is shutting down, see {@link ServeOptions.shutdownSignal}), or the status grpc-js
   * sent by itself when it refused the client's input (`RESOURCE_EXHAUSTED`, `INTERNAL`, ...).
   */
  readonly signal: AbortSignal;
  /** The client's address. */
  readonly peer: string;
  /** Sends the initial metadata (before the first response). */
  sendMetadata(metadata: Metadata): void;
  /** Trailing metadata: add to it; it is sent with the final status, OK or not. */
  readonly trailers: Metadata;
  /**
   * A snapshot of what the call carried so far: messages (and bytes of byte-array messages) each way.
   * A new plain object on each call; the call keeps only its counters.
   */
  metrics(): CallMetrics;
}

/** Options of the server-handler wrappers. */
export interface ServeOptions {
  /** Capacity of the `requests` receiver (default 16). */
  requestCapacity?: number;
  /**
   * How many responses may be written and not yet handed to HTTP/2 before `responses.send` waits
   * (default 16).
   */
  responseCapacity?: number;
  /**
   * Sees what the client is not told: every error a handler throws that is not a {@link GrpcError}
   * of its own making (the client gets `UNKNOWN` "internal error"), and responses sent without
   * awaiting that were refused because the call had ended (a {@link SendError} carrying the first
   * of them, once per call). Default: `console.error`, naming the method and the peer, with the
   * error as `util.inspect` shows it (its stack and `cause`).
   * It may throw: that is logged and changes nothing else.
   */
  onError?: (error: unknown, ctx: ServerContext) => void;
  /**
   * Aborting it ends every call of this handler at once with `UNAVAILABLE`: `ctx.signal` aborts,
   * `requests` rejects, pending `responses.send` reject, and the client gets the status. Give every
   * handler of a server the same signal and abort it when the server stops ({@link shutdownServer}
   * does), so that a graceful shutdown does not wait for streams that never end on their own.
   */
  shutdownSignal?: AbortSignal;
}

/**
 * `T`, except `unknown` where type inference found only `any`: a handler written inline in grpc-js's
 * untyped `addService` would otherwise get `any` for every message, and a misspelt field would compile.
 */
export type Known<T> = 0 extends 1 & T ? unknown : T;

/** `T`, except `never` where inference found only `any`, so that no response compiles unchecked. */
export type Checked<T> = 0 extends 1 & T ? never : T;

/** The longest status details sent; longer ones are cut (a client refuses a header block over 64 KiB). */
const MAX_DETAILS = 8192;
/** The most trailing metadata sent, in header-block bytes; more is dropped and reported. */
const MAX_TRAILER_BYTES = 32 * 1024;

/** A server call of any streaming kind. */
type AnyServerCall =
  | ServerDuplexStream<unknown, unknown>
  | ServerWritableStream<unknown, unknown>
  | ServerReadableStream<unknown, unknown>;

/** The context of one call; its signal and trailers are made when first asked for. */
class HandlerContext extends SignalledContext implements ServerContext {
  readonly #call: AnyServerCall;
  readonly #served: ServerCall<unknown, unknown>;
  readonly deadline: Date | undefined;
  #trailers: Metadata | undefined;

  constructor(call: AnyServerCall, deadline: number, served: ServerCall<unknown, unknown>) {
    super();
    this.#call = call;
    this.#served = served;
    this.deadline = Number.isFinite(deadline) ? new Date(deadline) : undefined;
  }

  get method(): string {
    return typeof this.#call.getPath === "function" ? this.#call.getPath() : "unknown method";
  }

  get metadata(): Metadata {
    return this.#call.metadata;
  }

  get peer(): string {
    return this.#call.getPeer();
  }

  get trailers(): Metadata {
    this.#trailers ??= emptyLike(this.#call.metadata);
    return this.#trailers;
  }

  /** Trailers to send, if the handler added any. */
  get trailersIfAny(): Metadata | undefined {
    return this.#trailers;
  }

  sendMetadata(metadata: Metadata): void {
    this.#call.sendMetadata(metadata);
  }

  metrics(): CallMetrics {
    return this.#served.metrics();
  }
}

/** The default `onError`: one line on stderr naming the method and the peer; never throws. */
function defaultOnError(error: unknown, ctx: ServerContext): void {
  let where = "a handler";
  try {
    where = `the handler of ${ctx.method} for ${ctx.peer}`;
  } catch {
    // the call is gone
  }
  logError(`${where} failed`, error);
}

/**
 * One server call: the handler's context, its `requests` (a read pump) and `responses` (a writer),
 * and the end of the call, told to each of them once. Its phase (the stages of `server-end.ts`, from
 * `RUNNING` to `FINISHED`, `ENDED` or `SHUT_DOWN`) moves in {@link ServerCallEnd.advance} only.
 */
class ServerCall<Req, Res> extends ServerCallEnd implements ReadOwner, WriteOwner {
  readonly ctx: HandlerContext;
  readonly #options: ServeOptions | undefined;
  #pump: ReadPump<Req> | undefined;
  #writer: CallWriter<Res> | undefined;
  #unsent: UnsentReport | undefined;
  /** The call's diagnostics trace, made only when somebody subscribed to it. */
  readonly #trace: CallTrace | undefined;
  /** Bytes of the one request or response of a call kind that has no stream that way (-1: none). */
  #single = -1;

  constructor(call: AnyServerCall, options: ServeOptions | undefined) {
    super(call, options?.shutdownSignal);
    this.#options = options;
    this.ctx = new HandlerContext(call, this.deadline, this as ServerCall<unknown, unknown>);
    this.#trace = serverTrace(this.ctx);
  }

  /** What the call carried so far. */
  metrics(): CallMetrics {
    return callMetrics(this.#writer, this.#pump, this.#single);
  }

  /** The one request (server streaming) or response (client streaming): counted in the metrics. */
  single(message: unknown): void {
    this.#single = singleBytes(message);
  }

  /** The handler's invocation, run inside the call's trace when it has one (else `invoke` itself). */
  #traced<R>(invoke: () => Promise<R>): () => Promise<R> {
    const trace = this.#trace;
    return trace === undefined ? invoke : () => runTraced(trace, invoke);
  }

  /** The call is over (`error`: its status if not OK): the trace hears it, with the counters. */
  #traceEnd(error: GrpcError | null, ending: CallEnding): void {
    if (this.#trace !== undefined)
      endTrace(this.#trace, error, ending, this.#writer, this.#pump, this.#single);
  }

  /** The client's messages as a receiver. */
  requests(capacity: number): Receiver<Req> {
    const pump = new ReadPump<Req>(this.call as ServerReadableStream<Req, unknown>, capacity, this);
    this.#pump = pump;
    return pump.receiver();
  }

  /**
   * The handler's sender of responses. The call does not keep it: a handle kept by its own channel
   * could never be collected (the channel is what its finalizer holds).
   */
  responses(capacity: number): Sender<Res> {
    const writer = new CallWriter<Res>(this.call as ServerWritableStream<unknown, Res>, capacity, this);
    this.#writer = writer;
    return writer.sender();
  }

  /**
   * Runs a streaming handler: the call ends OK once it returned and every `responses` handle closed.
   * The handler's own handle is closed when it settles; clones it gave away keep the call open.
   */
  run(invoke: () => Promise<void>, responses: Sender<Res>): void {
    settle(this.#traced(invoke), (outcome) => {
      if (outcome.ok) {
        if (this.#advanceToOk("returned")) this.#sendOk();
        responses.close(); // may end the writes, and with them the call
      } else {
        this.#fail(outcome.error);
        responses.close();
      }
    });
  }

  /** Runs a client-streaming handler: its value is the single response. */
  runUnary(invoke: () => Promise<Res>, respond: sendUnaryData<Res>): void {
    settle(this.#traced(invoke), (outcome) => {
      if (!outcome.ok) {
        this.#fail(outcome.error, (error) => respond(error));
      } else if (outcome.value === undefined) {
        this.#fail(new TypeError("the client-streaming handler resolved without a response"), (error) =>
          respond(error),
        );
      } else if (this.#beginStatus()) {
        this.single(outcome.value);
        respond(null, outcome.value, this.#trailersThatFit());
        this.#traceEnd(null, "ok");
      }
    });
  }

  // ReadOwner

  readEnded(): void {
    this.confirmHalfClose((reason) => this.#pump?.finish(reason));
  }

  consumerClosed(): void {
    // The handler stopped reading: the call stays paused, so HTTP/2 flow control holds the client.
  }

  consumerAbandoned(): void {
    // Nobody can read the requests any more: the pump drops them rather than stall the client.
  }

  // WriteOwner

  writesEnded(): void {
    if (this.#advanceToOk("writesEnded")) this.#sendOk();
  }

  writesAborted(reason: unknown): void {
    this.#fail(reason);
  }

  writesAbandoned(): void {
    this.writesEnded(); // a collected `responses` clone can send nothing more: as if closed
  }

  unobserved(reason: unknown): void {
    this.#unsent ??= new UnsentReport((error) => this.#report(error));
    this.#unsent.add(reason);
  }

  /** The call ended before the handler finished: every handle learns it now. */
  protected ended(reason: GrpcError): void {
    // grpc-js ends a call whose response it cannot serialize and tells nobody: a handler bug.
    if (reason.code === status.INTERNAL && reason.details.startsWith("Error serializing response")) {
      this.#report(new TypeError(`a response could not be serialized: ${reason.message}`, { cause: reason }));
    }
    const ending = serverEnding(reason, this.stage === SHUT_DOWN, isConnectionLoss(reason));
    // The trace read the peer at the start: grpc-js has forgotten it once the stream is closed.
    const source = this.#trace ?? this.ctx;
    if (ending === "shutdown") publishShutdown(source, reason);
    else if (ending === "cancelled" || ending === "lost")
      publishCancel("server", source, reason, false, ending);
    this.#traceEnd(reason, ending);
    this.ctx.abort(reason);
    this.#pump?.finish(reason);
    this.#writer?.callEnded(endedBy(reason));
  }

  /**
   * Moves the stage on the handler's return or its writes' end; true when that finishes the call
   * with OK (the other of the two came first), whose status is then this side's to send.
   */
  #advanceToOk(event: "returned" | "writesEnded"): boolean {
    return this.advance(event) && this.stage === FINISHED && this.#finishRequests();
  }

  /** Claims the right to send the final status of the handler's error; false if the call is over. */
  #beginStatus(): boolean {
    return this.advance("status") && this.#finishRequests();
  }

  /** The call is finishing: a background task still reading `requests` learns that it is over. */
  #finishRequests(): true {
    this.#pump?.finish(
      this.halfClosed
        ? null
        : statusError(status.CANCELLED, "the server ended the call before the client's end"),
    );
    return true;
  }

  #sendOk(): void {
    (this.call as ServerDuplexStream<unknown, unknown>).end(this.#trailersThatFit());
    this.#traceEnd(null, "ok");
  }

  /**
   * `ctx.trailers`, unless they are too large for a client to take: a grpc-js client drops a
   * header block over its limit (64 KiB) without a word and waits forever, so they are dropped here
   * instead, and `onError` is told.
   */
  #trailersThatFit(): Metadata | undefined {
    const trailers = this.ctx.trailersIfAny;
    if (trailers === undefined || headerBytes(trailers) <= MAX_TRAILER_BYTES) return trailers;
    this.#report(
      new RangeError(
        `ctx.trailers take about ${headerBytes(trailers)} bytes, over the ${MAX_TRAILER_BYTES} a client takes: they were not sent`,
      ),
    );
    return undefined;
  }

  /** The handler failed (threw, rejected, or aborted `responses`): the call ends with its status. */
  #fail(error: unknown, send?: (error: GrpcError) => void): void {
    if (!this.#beginStatus()) {
      // The call had already ended: the handler's way out of it is expected, anything else is a bug.
      if (!isWayOut(error)) this.#report(error);
      return;
    }
    const chosen = wireStatus(error, (e) => this.#report(e));
    this.#writer?.callEnded(endedBy(chosen));
    const wire = this.#fitted(chosen, error);
    if (send !== undefined) send(wire);
    else this.call.emit("error", wire);
    this.#traceEnd(wire, "error");
  }

  /**
   * The status to send for `wire`: its trailers with `ctx.trailers` added, within what a client
   * takes (details cut to 8 KiB, trailers dropped past 32 KiB, `onError` told), and of the call's
   * own copy of grpc-js.
   */
  #fitted(wire: AnyGrpcError, cause: unknown): GrpcError {
    let details = wire.details;
    if (details.length > MAX_DETAILS) {
      details = `${details.slice(0, MAX_DETAILS)}... (${details.length - MAX_DETAILS} more characters cut)`;
    }
    const trailers = this.ctx.trailersIfAny;
    let metadata = emptyLike(trailers ?? this.call.metadata);
    mergeInto(metadata, wire.metadata);
    if (trailers !== undefined) mergeInto(metadata, trailers);
    if (headerBytes(metadata) > MAX_TRAILER_BYTES) {
      this.#report(
        new RangeError(
          `the status's trailers take about ${headerBytes(metadata)} bytes, over the ${MAX_TRAILER_BYTES} a client takes: they were not sent`,
        ),
      );
      metadata = emptyLike(metadata);
    }
    return new GrpcError(wire.code, details, metadata, { cause });
  }

  /** Hands `error` to `onError` (or the default line); an `onError` that throws is logged, nothing more. */
  #report(error: unknown): void {
    const onError = this.#options?.onError;
    if (onError === undefined) defaultOnError(error, this.ctx);
    else reportTo((e) => onError(e, this.ctx), error, `${this.ctx.method}: a handler error`);
  }
}

/**
 * Wraps a bidirectional-streaming handler. `requests` is the client's stream as a {@link Receiver};
 * `responses` is a {@link Sender} into the call, with backpressure (its `send` waits while the
 * client does not read, and resolves once the message was handed to the live call).
 *
 * How the call ends, and what each handle sees:
 * - The handler resolves: the call ends with OK (and `ctx.trailers`) once every `responses` handle
 *   is closed, clones included: a handler may return at once and leave a clone to a background task,
 *   as a tonic handler returns its stream.
 * - The handler throws or rejects (or calls `responses.abort(err)`): the call ends with the error's
 *   status if it is a {@link GrpcError} of the handler's making, else `UNKNOWN` "internal error" (and
 *   `onError` sees the error). A downstream call's status is not passed on unless the handler says so
 *   with {@link GrpcError.forward}.
 * - The client half-closes: `requests` ends after its last message; the call goes on.
 * - The client cancels, the deadline passes, the connection is lost, grpc-js refuses the client's
 *   input, or the server shuts down ({@link ServeOptions.shutdownSignal}): `ctx.signal` aborts with a
 *   {@link GrpcError} saying which, `requests` rejects with it after the messages already read, and
 *   pending and later `responses.send` reject with `SendError` carrying their values (its `cause`
 *   is that reason).
 *
 * No 'error' event, rejection or throwing `onError` can take the process down; a `responses.send`
 * that nobody awaits and that is refused is reported to `onError`.
 *
 * Types: `Req` and `Res` are inferred from where the handler goes (ts-proto's `...Server`, proto-loader's
 * `...Handlers`, with `satisfies` or a typed variable). Where that is grpc-js's untyped `addService`,
 * requests are `unknown` and responses `never` rather than `any`: annotate, or add the `satisfies`.
 *
 * @throws RangeError at wrap time for an invalid capacity option.
 *
 * @example
 * ```ts
 * server.addService(MessageServiceService, {
 *   // the message types come from ts-proto's MessageServiceServer: no type arguments
 *   streamMessages: serveBidi(async (requests, responses) => {
 *     for await (const req of requests) await responses.send({ message: `Hello, ${req.name}!` });
 *   }),
 * } satisfies MessageServiceServer);
 * ```
 */
export function serveBidi<Req, Res>(
  handler: (
    requests: Receiver<Known<Req>>,
    responses: Sender<Checked<Res>>,
    ctx: ServerContext,
  ) => Promise<void>,
  options?: ServeOptions,
): handleBidiStreamingCall<Req, Res> {
  const requestCapacity = capacityOption(options?.requestCapacity, "requestCapacity");
  const responseCapacity = capacityOption(options?.responseCapacity, "responseCapacity");
  return (call) => {
    const served = new ServerCall<Known<Req>, Checked<Res>>(call as AnyServerCall, options);
    const requests = served.requests(requestCapacity);
    const responses = served.responses(responseCapacity);
    served.run(() => handler(requests, responses, served.ctx), responses);
  };
}

/**
 * Wraps a server-streaming handler: one request, a {@link Sender} of responses. Ends as
 * {@link serveBidi} does.
 *
 * @example
 * ```ts
 * const tail = serveServerStream<TailRequest, LogLine>(async (req, lines, ctx) => {
 *   for await (const line of follow(req.file, ctx.signal)) await lines.send(line);
 * });
 * ```
 */
export function serveServerStream<Req, Res>(
  handler: (request: Known<Req>, responses: Sender<Checked<Res>>, ctx: ServerContext) => Promise<void>,
  options?: ServeOptions,
): handleServerStreamingCall<Req, Res> {
  const responseCapacity = capacityOption(options?.responseCapacity, "responseCapacity");
  return (call) => {
    const served = new ServerCall<Known<Req>, Checked<Res>>(call as AnyServerCall, options);
    served.single(call.request);
    const responses = served.responses(responseCapacity);
    served.run(() => handler(call.request, responses, served.ctx), responses);
  };
}

/**
 * Wraps a client-streaming handler: a {@link Receiver} of requests; the handler's return value is
 * the single response. A throw or rejection becomes the status as in {@link serveBidi}; so does a
 * handler that resolves with `undefined` (`UNKNOWN`, reported to `onError`).
 *
 * @example
 * ```ts
 * const sum = serveClientStream<Num, Num>(async (nums) => {
 *   let total = 0;
 *   for await (const n of nums) total += n.value;
 *   return { value: total };
 * });
 * ```
 */
export function serveClientStream<Req, Res>(
  handler: (requests: Receiver<Known<Req>>, ctx: ServerContext) => Promise<Checked<Res>>,
  options?: ServeOptions,
): handleClientStreamingCall<Req, Res> {
  const requestCapacity = capacityOption(options?.requestCapacity, "requestCapacity");
  return (call, callback) => {
    const served = new ServerCall<Known<Req>, Checked<Res>>(call as AnyServerCall, options);
    const requests = served.requests(requestCapacity);
    served.runUnary(() => handler(requests, served.ctx), callback);
  };
}
