/**
 * Client-call helpers: open a streaming call and get channels back.
 *
 * @module
 */
import {
  type CallOptions,
  type ChannelOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  type Metadata,
  type requestCallback,
  status,
} from "@grpc/grpc-js";
import type { Receiver, Sender } from "../channel/index.js";
import { ClientCallEnd, type ClientOutcome } from "./client-end.js";
import { abortError, deadlineOf } from "./deadline.js";
import {
  type CallMetrics,
  type CallTrace,
  callMetrics,
  cancelWatched,
  clientEnding,
  clientTrace,
  clientTraced,
  endTrace,
  publishCancel,
  singleBytes,
  type TraceSource,
} from "./events.js";
import { clientCallMethod } from "./internals.js";
import { Later } from "./later.js";
import { emptyLike, metadataCarrying } from "./metadata.js";
import { capacityOption } from "./options.js";
import { type ReadOwner, ReadPump } from "./read.js";
import { logError, reportTo, UnsentReport } from "./report.js";
import { type CallStatus, GrpcError, receivedError, statusError } from "./status.js";
import { CallWriter, endedBy, type WriteOwner } from "./write.js";

/**
 * Channel options for a grpc-js client that streams: `{ "grpc.per_rpc_retry_buffer_size": 0 }`.
 *
 * Why: grpc-js keeps every call's outgoing messages in a retry buffer of up to 1 MiB per call (even
 * with `grpc.enable_retries: 0`) and acknowledges each write as soon as it is buffered, before it
 * reaches the wire. On every write that does reach the wire it then copies the rest of that buffer
 * (`RetryingCall.clearSentMessages` slices the array), so a stream of small messages costs time
 * quadratic in the backlog: measured here, a 100,000-message bidi echo took 75 s (1.3k msg/s) with the
 * default and 4 s (25k msg/s) with these options. With no retry buffer, `write()` reports backpressure
 * from the transport itself. Streaming calls are not retried by grpc-js once they have sent anything
 * anyway; unary calls on the same client lose transparent retries.
 *
 * @example
 * ```ts
 * const client = new MessageServiceClient(target, credentials.createInsecure(), streamingClientOptions);
 * ```
 */
export const streamingClientOptions: ChannelOptions = Object.freeze({ "grpc.per_rpc_retry_buffer_size": 0 });

/** Options of the client-call helpers. */
export interface ClientCallOptions {
  /** Request metadata. */
  metadata?: Metadata;
  /**
   * When the call must end, sent on the wire: a `Date`, or epoch milliseconds (`Date.now() + 5000`).
   * A number below 10^12 (2001) is not taken for a deadline: it throws a `RangeError` that points
   * to `timeoutMs`. `Infinity` means no deadline.
   */
  deadline?: Date | number;
  /** How long the call may take, in milliseconds from now (a relative `deadline`); the earlier of the two wins. */
  timeoutMs?: number;
  /**
   * Aborting it cancels the call. The call's error keeps the signal's reason as `cause`; a
   * `GrpcError` reason (a handler's `ctx.signal` passed on) keeps its code, and
   * `AbortSignal.timeout()` reads as `DEADLINE_EXCEEDED`; anything else is `CANCELLED`.
   */
  signal?: AbortSignal;
  /**
   * How many requests may be written and not yet handed to HTTP/2 before `tx.send` waits (default 16).
   */
  requestCapacity?: number;
  /** Capacity of the `rx` receiver of responses (default 16). */
  responseCapacity?: number;
  /** Further grpc-js call options (`deadline` and `timeoutMs` above take precedence). */
  callOptions?: Partial<CallOptions>;
  /**
   * Sees `tx.send`s that were refused because the call had ended while nobody awaited them (a
   * `SendError` carrying the first value, once per call). Default: `console.error`, with the error as
   * `util.inspect` shows it.
   */
  onError?: (error: unknown) => void;
}

/**
 * A bidirectional-streaming call as channels.
 *
 * Every way the call ends reaches every handle: a parked `tx.send` rejects with `SendError` carrying
 * its value (its `cause` says why), `rx` ends (OK) or rejects with a {@link GrpcError} after the
 * messages already received, `status` settles. A collected `tx` or `rx` does not end a call whose
 * other half is in use; once both are collected unclosed, the call is cancelled.
 *
 * `status` and `headers` are read when first asked for (an idle stream pays nothing for them):
 * destructure the handle (`const { tx, rx, status } = bidiCall(...)`) or keep it whole; a spread
 * (`{ ...call }`) copies only its own properties, not these two.
 */
export interface BidiCall<Req, Res> {
  /**
   * Requests. `send` resolves once the message was handed to the live call and waits while
   * `requestCapacity` messages are on their way; `close()` half-closes the call after them.
   */
  readonly tx: Sender<Req>;
  /**
   * Responses: ends when the call ends with OK, rejects with a {@link GrpcError} otherwise, after the
   * messages already received. Closing it (or leaving `for await` early) cancels the call.
   */
  readonly rx: Receiver<Res>;
  /**
   * The final status with its trailers; rejects with a {@link GrpcError} for a non-OK status. It
   * settles when the call ends, and a server that streams cannot end while `rx` is full (it waits on
   * flow control): read `rx` first, or while awaiting it, never only after. Never an unhandled
   * rejection.
   */
  readonly status: Promise<CallStatus>;
  /**
   * The response headers (initial metadata). If the call ends without any (a trailers-only
   * response), resolves with empty metadata when it ended OK, or rejects with its error.
   */
  readonly headers: Promise<Metadata>;
  /** Cancels the call (a no-op once it ended); `reason` becomes the `cause` of the call's error. */
  cancel(reason?: unknown): void;
  /** A snapshot of what the call carried so far (messages, and bytes of byte-array messages, each way). */
  metrics(): CallMetrics;
}

/** A server-streaming call as a receiver (`status` and `headers`: see {@link BidiCall} on spreading). */
export interface ServerStreamCall<Res> {
  /** Responses; as {@link BidiCall.rx}. Once it is collected unclosed, the call is cancelled. */
  readonly rx: Receiver<Res>;
  /** As {@link BidiCall.status}. */
  readonly status: Promise<CallStatus>;
  /** As {@link BidiCall.headers}. */
  readonly headers: Promise<Metadata>;
  /** As {@link BidiCall.cancel}. */
  cancel(reason?: unknown): void;
  /** As {@link BidiCall.metrics}. */
  metrics(): CallMetrics;
}

/** A client-streaming call as a sender (`status` and `headers`: see {@link BidiCall} on spreading). */
export interface ClientStreamCall<Req, Res> {
  /** Requests; as {@link BidiCall.tx}. Collected unclosed, it half-closes the call as `close()` does. */
  readonly tx: Sender<Req>;
  /** The single response; rejects with a {@link GrpcError}. Never an unhandled rejection. */
  readonly response: Promise<Res>;
  /** As {@link BidiCall.status}. */
  readonly status: Promise<CallStatus>;
  /** As {@link BidiCall.headers}. */
  readonly headers: Promise<Metadata>;
  /** As {@link BidiCall.cancel}. */
  cancel(reason?: unknown): void;
  /** As {@link BidiCall.metrics}. */
  metrics(): CallMetrics;
}

/** What the caller gave, validated, and the arguments to open the call with. */
class CallSetup {
  readonly metadata: Metadata;
  readonly callOptions: Partial<CallOptions>;
  readonly requestCapacity: number;
  readonly responseCapacity: number;

  constructor(readonly options: ClientCallOptions | undefined) {
    const callOptions: Partial<CallOptions> = { ...options?.callOptions };
    const deadline = deadlineOf(options);
    if (deadline !== undefined) callOptions.deadline = deadline;
    this.callOptions = callOptions;
    this.metadata = options?.metadata ?? metadataCarrying(callOptions);
    this.requestCapacity = capacityOption(options?.requestCapacity, "requestCapacity");
    this.responseCapacity = capacityOption(options?.responseCapacity, "responseCapacity");
  }
}

/** A grpc-js client call of any streaming kind. */
type AnyClientCall =
  | ClientDuplexStream<unknown, unknown>
  | ClientReadableStream<unknown>
  | ClientWritableStream<unknown>;

/**
 * One client call: its end (told once to `tx`, `rx`, `status` and `headers`), the read pump behind
 * `rx`, the writer behind `tx`, and what happens when the caller lets go of a half. Its phase (the
 * stages of `client-end.ts`, from `OPEN` to `ENDED` or `CANCELLED`) moves in
 * {@link ClientCallEnd.advance} only.
 */
class ClientCall<Req, Res> extends ClientCallEnd implements ReadOwner, WriteOwner {
  // What the call needs of its CallSetup, not the setup itself: its metadata and call options are
  // grpc-js's once the call is open, and an idle stream should not hold them.
  readonly #requestCapacity: number;
  readonly #responseCapacity: number;
  readonly #options: ClientCallOptions | undefined;
  /** Made when first read or settled: an idle stream nobody asked for its status pays nothing. */
  #status: Later<CallStatus> | undefined;
  /** Made when first read or when the headers come. */
  #headers: Later<Metadata> | undefined;
  #pump: ReadPump<Res> | undefined;
  #writer: CallWriter<Req> | undefined;
  #unsent: UnsentReport | undefined;
  #unwatchSignal: (() => void) | undefined;
  /** The call's diagnostics trace, made only when somebody subscribed to it. */
  #trace: CallTrace | undefined;
  /** Bytes of the one request or response of a call kind that has no stream that way (-1: none). */
  #single = -1;

  constructor(call: AnyClientCall, setup: CallSetup) {
    super(call);
    if (clientTraced()) this.#trace = clientTrace(new ClientTraceSource(call, setup.callOptions.deadline));
    this.#requestCapacity = setup.requestCapacity;
    this.#responseCapacity = setup.responseCapacity;
    this.#options = setup.options;
    call.on("metadata", this.#onHeaders);
    const signal = setup.options?.signal;
    if (signal !== undefined) {
      // abortError is the h2 transport's too, so typed without grpc-js; here its metadata is
      // grpc-js's (status.ts installed it) unless the reason was a GrpcError, whose stays as it came.
      const aborted = (): GrpcError => abortError(signal.reason) as GrpcError;
      if (signal.aborted) {
        queueMicrotask(() => this.cancelWith(aborted()));
      } else {
        const onAbort = (): void => this.cancelWith(aborted());
        signal.addEventListener("abort", onAbort, { once: true });
        this.#unwatchSignal = () => signal.removeEventListener("abort", onAbort);
      }
    }
  }

  /** The final status, settled when the call ends. */
  get status(): Later<CallStatus> {
    this.#status ??= new Later<CallStatus>();
    return this.#status;
  }

  /** The response headers, settled when they come or when the call ends without them. */
  get headers(): Later<Metadata> {
    this.#headers ??= new Later<Metadata>();
    return this.#headers;
  }

  /** The responses, as a receiver. */
  rx(): Receiver<Res> {
    const pump = new ReadPump<Res>(this.call as ClientReadableStream<Res>, this.#responseCapacity, this);
    this.#pump = pump;
    return pump.receiver();
  }

  /** The requests, as a sender. */
  tx(): Sender<Req> {
    const writer = new CallWriter<Req>(this.call as ClientWritableStream<Req>, this.#requestCapacity, this);
    this.#writer = writer;
    return writer.sender();
  }

  /** Cancels the call with a reason of the caller's. */
  cancel = (reason?: unknown): void => {
    this.cancelWith(statusError(status.CANCELLED, "cancelled by the caller", reason));
  };

  // ReadOwner

  readEnded(): void {
    this.markReadEnded();
    this.#finishRx();
  }

  consumerClosed(): void {
    this.cancelWith(statusError(status.CANCELLED, "cancelled: the response receiver was closed"));
  }

  consumerAbandoned(): void {
    // With no `tx` to keep it going, a collected `rx` leaves nobody: the call is cancelled.
    this.advance(this.#writer === undefined ? "cancel" : "rxGone", collected());
  }

  // WriteOwner

  writesEnded(): void {
    this.#halfClose();
  }

  writesAborted(reason: unknown): void {
    this.cancelWith(statusError(status.CANCELLED, "cancelled: the request stream was aborted", reason));
  }

  writesAbandoned(): void {
    if (this.#pump === undefined)
      this.#halfClose(); // no other half: a dropped sender ends the stream
    else this.advance("txGone", collected());
  }

  unobserved(reason: unknown): void {
    this.#unsent ??= new UnsentReport((error) => {
      const onError = this.#options?.onError;
      if (onError === undefined) logError("a request sent without awaiting was refused", error);
      else reportTo(onError, error, "a request sent without awaiting was refused");
    });
    this.#unsent.add(reason);
  }

  #halfClose(): void {
    (this.call as ClientWritableStream<Req>).end();
  }

  #onHeaders = (headers: Metadata): void => {
    this.headers.resolve(headers);
  };

  /** Told the error (or `null`) when the call ends: the client-streaming response listens. */
  onEnd: ((error: GrpcError | null) => void) | undefined;

  /** What the call carried so far. */
  metrics(): CallMetrics {
    return callMetrics(this.#writer, this.#pump, this.#single);
  }

  /** The one request (server streaming) or response (client streaming): counted in the metrics. */
  single(message: unknown): void {
    this.#single = singleBytes(message);
  }

  /** The call ended: the trace and the cancel event hear it (nothing is read unless somebody listens). */
  #observeEnd(error: GrpcError | null, local: boolean): void {
    const trace = this.#trace;
    const ending = clientEnding(error, local);
    if (ending === "cancelled" && error !== null && cancelWatched()) {
      publishCancel(
        "client",
        trace ?? new ClientTraceSource(this.call as AnyClientCall, undefined),
        error,
        local,
        ending,
      );
    }
    if (trace !== undefined) endTrace(trace, error, ending, this.#writer, this.#pump, this.#single);
  }

  protected ended(outcome: ClientOutcome, local: boolean): void {
    this.#unwatchSignal?.();
    const error = outcome instanceof GrpcError ? outcome : null;
    this.#observeEnd(error, local);
    this.onEnd?.(error);
    if (error === null) this.status.resolve(outcome as CallStatus);
    else this.status.reject(error);
    // A no-op if the headers came: a call that ended without any settles `headers` as its status.
    const headers = this.headers;
    if (error !== null) headers.reject(error);
    else if (!headers.settled) headers.resolve(emptyLike((outcome as CallStatus).metadata));
    this.#writer?.callEnded(endedBy(error));
    this.#finishRx();
  }

  /** The receiver ends once grpc-js has handed over every message ('end') and the outcome is known. */
  #finishRx(): void {
    const outcome = this.outcome;
    if (outcome === undefined || !this.allRead) return;
    this.#pump?.finish(outcome instanceof GrpcError ? outcome : null);
  }
}

/** The reason of a call cancelled because both its halves were collected unclosed. */
function collected(): GrpcError {
  return statusError(status.CANCELLED, "cancelled: every handle of the call was collected");
}

/** The method, peer and deadline of a client call, read when first asked for. */
class ClientTraceSource implements TraceSource {
  constructor(
    readonly call: AnyClientCall,
    readonly at: Date | number | undefined,
  ) {}

  get method(): string {
    return clientCallMethod(this.call) ?? "unknown method";
  }

  get peer(): string {
    return this.call.getPeer();
  }

  get deadline(): Date | undefined {
    const at = this.at;
    if (at === undefined) return undefined;
    const ms = at instanceof Date ? at.getTime() : at;
    return Number.isFinite(ms) ? new Date(ms) : undefined;
  }
}

/**
 * What the call helpers return: the halves, and `status` and `headers` made when first read. A class
 * rather than an object literal with getters, which V8 keeps as a dictionary (about 450 bytes a call).
 * `status` and `headers` are accessors on its prototype: destructuring reads them, a spread
 * (`{ ...call }`) does not copy them (the interfaces say so).
 */
class Handle<Req, Res> {
  readonly cancel: (reason?: unknown) => void;
  // Declared, not defined: a half the call kind does not have is absent, not an own `undefined`.
  declare readonly tx?: Sender<Req>;
  declare readonly rx?: Receiver<Res>;
  declare readonly response?: Promise<Res>;
  readonly #ends: {
    readonly status: Later<CallStatus>;
    readonly headers: Later<Metadata>;
    metrics(): CallMetrics;
  };

  constructor(
    call: {
      readonly status: Later<CallStatus>;
      readonly headers: Later<Metadata>;
      cancel(reason?: unknown): void;
      metrics(): CallMetrics;
    },
    tx: Sender<Req> | undefined,
    rx: Receiver<Res> | undefined,
    response: Promise<Res> | undefined,
  ) {
    this.#ends = call;
    this.cancel = call.cancel;
    if (tx !== undefined) this.tx = tx;
    if (rx !== undefined) this.rx = rx;
    if (response !== undefined) this.response = response;
  }

  get status(): Promise<CallStatus> {
    return this.#ends.status.promise;
  }

  get headers(): Promise<Metadata> {
    return this.#ends.headers.promise;
  }

  metrics(): CallMetrics {
    return this.#ends.metrics();
  }
}

/**
 * Opens a bidirectional-streaming call and returns it as channels.
 *
 * @param start opens the call with the metadata and options given, e.g.
 *   `(md, opts) => client.streamMessages(md, opts)` for ts-proto output, or
 *   `(md, opts) => client.StreamMessages(md, opts)` for a proto-loader client.
 * @throws RangeError for an invalid option (capacity, `deadline`, `timeoutMs`).
 *
 * @example
 * ```ts
 * const { tx, rx, status } = bidiCall((md, opts) => client.streamMessages(md, opts), { timeoutMs: 10_000 });
 * await tx.send({ name: "Ada" });
 * tx.close();
 * for await (const res of rx) console.log(res.message);
 * console.log((await status).code); // 0 (OK)
 * ```
 */
export function bidiCall<Req, Res>(
  start: (metadata: Metadata, options: Partial<CallOptions>) => ClientDuplexStream<Req, Res>,
  options?: ClientCallOptions,
): BidiCall<Req, Res> {
  const setup = new CallSetup(options);
  const call = new ClientCall<Req, Res>(start(setup.metadata, setup.callOptions) as AnyClientCall, setup);
  return new Handle(call, call.tx(), call.rx(), undefined) as BidiCall<Req, Res>;
}

/**
 * Opens a server-streaming call and returns its responses as a receiver.
 *
 * @throws RangeError for an invalid option.
 *
 * @example
 * ```ts
 * const { rx } = serverStreamCall((req, md, opts) => client.tail(req, md, opts), { file: "app.log" });
 * for await (const line of rx) console.log(line.text);
 * ```
 */
export function serverStreamCall<Req, Res>(
  start: (request: Req, metadata: Metadata, options: Partial<CallOptions>) => ClientReadableStream<Res>,
  request: Req,
  options?: ClientCallOptions,
): ServerStreamCall<Res> {
  const setup = new CallSetup(options);
  const call = new ClientCall<never, Res>(
    start(request, setup.metadata, setup.callOptions) as AnyClientCall,
    setup,
  );
  call.single(request);
  return new Handle<never, Res>(call, undefined, call.rx(), undefined) as ServerStreamCall<Res>;
}

/**
 * Opens a client-streaming call and returns a sender of requests and the promised response.
 *
 * @throws RangeError for an invalid option.
 *
 * @example
 * ```ts
 * // Res cannot be inferred through the callback: name both message types
 * const { tx, response } = clientStreamCall<Num, Num>((md, opts, cb) => client.sum(md, opts, cb));
 * for (const value of [1, 2, 3]) await tx.send({ value });
 * tx.close();
 * console.log((await response).value); // 6
 * ```
 */
export function clientStreamCall<Req, Res>(
  start: (
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: requestCallback<Res>,
  ) => ClientWritableStream<Req>,
  options?: ClientCallOptions,
): ClientStreamCall<Req, Res> {
  const setup = new CallSetup(options);
  const response = new Later<Res>();
  let call: ClientCall<Req, never> | undefined;
  const started = start(setup.metadata, setup.callOptions, (err, value) => {
    if (err) {
      const local = call?.outcome;
      response.reject(local instanceof GrpcError ? local : receivedError(err));
    } else if (value === undefined) {
      response.reject(statusError(status.INTERNAL, "the server sent no response message"));
    } else {
      call?.single(value);
      response.resolve(value);
    }
  });
  call = new ClientCall<Req, never>(started as AnyClientCall, setup);
  call.onEnd = (error) => {
    if (error !== null) response.reject(error);
  };
  return new Handle<Req, Res>(call, call.tx(), undefined, response.promise) as ClientStreamCall<Req, Res>;
}
