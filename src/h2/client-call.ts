/**
 * One call of the h2 client: opened once its session is ready, its requests through a
 * {@link BurstWriter}, its responses through a {@link StreamReader}, and its end (trailers, a reset,
 * the deadline, a cancel, a lost connection) told once to `tx`, `rx`, `status` and `headers`.
 *
 * @internal
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
} from "node:http2";
import type { Receiver, Sender } from "../channel/index.js";
import { Code, type CodeNumber } from "../grpc/codes.js";
import { abortError, deadlineOf } from "../grpc/deadline.js";
import { endedBy } from "../grpc/ended-by.js";
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
  type TraceSource,
} from "../grpc/events.js";
import { GrpcError, messageOf, receivedError, statusError } from "../grpc/grpc-error.js";
import { field } from "../grpc/hostile.js";
import { Later } from "../grpc/later.js";
import { capacityOption } from "../grpc/options.js";
import { logError, reportTo, UnsentReport } from "../grpc/report.js";
import { ACCEPT_ENCODING, type Encoding, isSupportedEncoding } from "./compression.js";
import type { MethodDefinition } from "./definition.js";
import {
  emptyMetadataLike,
  type MetadataLike,
  type MetadataMap,
  metadataFromHeaders,
  metadataToHeaders,
} from "./metadata.js";
import { type ReadOwner, StreamReader } from "./reader.js";
import { resetStream } from "./reset.js";
import type { SessionPool, SessionWaiter } from "./session.js";
import {
  codeOfHttpStatus,
  codeOfReset,
  decodeMessage,
  isGrpcContentType,
  parseStatus,
} from "./status-headers.js";
import { CALL, ignoreError, type StreamCall, setCall } from "./stream-call.js";
import { formatTimeout } from "./timeout.js";
import { type BurstOwner, BurstWriter, UnserializableMessage } from "./writer.js";

/** Options of one h2 client call. */
export interface H2CallOptions {
  /** Request metadata: a `WireMetadata` or a grpc-js `Metadata` (then what comes back is of its class). */
  metadata?: MetadataLike;
  /** When the call must end: a `Date` or epoch milliseconds (as the grpc-js helpers take it). */
  deadline?: Date | number;
  /** How long the call may take, in ms from now; the earlier of the two wins. */
  timeoutMs?: number;
  /** Aborting it cancels the call (a `GrpcError` reason keeps its code; `AbortSignal.timeout()` is DEADLINE_EXCEEDED). */
  signal?: AbortSignal;
  /** How many requests may be queued for the next write before `tx.send` waits (default 16). */
  requestCapacity?: number;
  /** Capacity of the `rx` receiver of responses (default 16). */
  responseCapacity?: number;
  /**
   * Whether a call made while the client cannot connect waits for a connection, up to its deadline
   * (default `true`: then `DEADLINE_EXCEEDED`, its details and `cause` saying why the last connect
   * failed); `false` fails it `UNAVAILABLE` at the first failed connect.
   */
  waitForReady?: boolean;
  /**
   * Sees `tx.send`s refused because the call had ended while nobody awaited them: once per call, the
   * refusals of its first such turn as one `SendError` with the first value and their count (later
   * ones reject only for whoever awaits them). Default: `console.error`.
   */
  onError?: (error: unknown) => void;
}

/** node:http2's errors for headers it will not send (not for a connection that cannot take a stream). */
const HEADER_ERRORS: ReadonlySet<unknown> = new Set([
  "ERR_HTTP2_HEADER_SINGLE_VALUE",
  "ERR_HTTP2_INVALID_CONNECTION_HEADERS",
  "ERR_HTTP2_INVALID_HEADER_VALUE",
  "ERR_INVALID_HTTP_TOKEN",
  "ERR_INVALID_CHAR",
]);

/** Whether `session.request` threw for its headers. */
function refusedHeaders(error: unknown): boolean {
  return HEADER_ERRORS.has(field(error, "code"));
}

/** The final status of an h2 call. */
export interface H2CallStatus {
  /** The gRPC status code (0 for OK). */
  readonly code: CodeNumber;
  /** The status message. */
  readonly details: string;
  /** The trailing metadata. */
  readonly metadata: MetadataMap;
}

/** What a call needs from its client. */
export interface ClientLimits {
  readonly pool: SessionPool;
  /** The target, `host:port`: the peer of every call (its trace and cancel events). */
  readonly peer: string;
  readonly maxReceive: number;
  readonly maxSend: number;
  readonly encoding: Encoding;
}

/** A stream of a client call: it holds the call, which its listeners (shared by every call) reach. */
type CallStream = ClientHttp2Stream & { [CALL]?: StreamCall };

/** The call of a stream that has one (every stream a shared listener is on). */
function callOf(stream: CallStream): ClientCall<unknown, unknown> {
  return stream[CALL] as ClientCall<unknown, unknown>;
}

/** One client call. */
export class ClientCall<Req, Res> implements ReadOwner<Res>, BurstOwner<Req>, SessionWaiter, StreamCall {
  // The stream's listeners, one function for every call: Node calls them with the stream as `this`.
  static readonly #onResponse = function (
    this: CallStream,
    headers: IncomingHttpHeaders,
    flags: number,
  ): void {
    callOf(this).#response(headers, (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0);
  };
  static readonly #onData = function (this: CallStream, chunk: Buffer): void {
    callOf(this).reader.chunk(chunk);
  };
  static readonly #onTrailers = function (this: CallStream, trailers: IncomingHttpHeaders): void {
    callOf(this).#fromTrailers(trailers);
  };
  static readonly #onEnd = function (this: CallStream): void {
    callOf(this).#applyPending();
  };

  /** Made when first read or settled (`headers`: when they come; `status`: at the end, mostly). */
  #status: Later<H2CallStatus> | undefined;
  #headers: Later<MetadataMap> | undefined;
  readonly failFast: boolean;
  readonly reader: StreamReader<Res>;
  readonly writer: BurstWriter<Req>;
  readonly #method: MethodDefinition<Req, Res>;
  readonly #limits: ClientLimits;
  /** The request metadata as headers, until the stream is opened with them. */
  #outgoing: Record<string, string | string[] | number> | undefined;
  readonly #like: unknown;
  readonly #deadline: number | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;
  #stream: ClientHttp2Stream | undefined;
  #session: ClientHttp2Session | undefined;
  #outcome: GrpcError | null | undefined;
  /** The status from the trailers, applied once every DATA chunk before them was read ('end'). */
  #pending: { outcome: GrpcError | null; status: H2CallStatus | undefined } | undefined;
  #halfClosed = false;
  #headersSeen = false;
  #stopWaiting: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;
  #unsent: UnsentReport | undefined;
  /** The call's trace, if anybody listened to client calls when it opened. */
  readonly #trace: CallTrace | undefined;
  /** This side ended the call (a cancel, the deadline, the signal, a closed `rx`). */
  #endedHere = false;
  /** Called with the outcome once, for a unary response. */
  onEnd: ((outcome: GrpcError | null) => void) | undefined;

  constructor(method: MethodDefinition<Req, Res>, options: H2CallOptions | undefined, limits: ClientLimits) {
    this.#method = method;
    this.#limits = limits;
    const at = deadlineOf(options);
    const deadline = at === undefined ? undefined : at instanceof Date ? at.getTime() : at;
    this.#deadline = deadline === Number.POSITIVE_INFINITY ? undefined : deadline;
    this.failFast = options?.waitForReady === false;
    this.#onError = options?.onError;
    this.#like = options?.metadata;
    if (options?.metadata !== undefined) {
      const outgoing: Record<string, string | string[] | number> = {};
      metadataToHeaders(options.metadata, outgoing); // a reserved key throws here, from the call
      this.#outgoing = outgoing;
    }
    this.reader = new StreamReader<Res>(
      method.responseStream ? capacityOption(options?.responseCapacity, "responseCapacity") : 2,
      limits.maxReceive,
      this,
    );
    this.writer = new BurstWriter<Req>(
      method.requestStream ? capacityOption(options?.requestCapacity, "requestCapacity") : 1,
      limits.maxSend,
      this,
    );
    const signal = options?.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        queueMicrotask(() => this.cancelWith(abortError(signal.reason)));
      } else {
        const onAbort = (): void => this.cancelWith(abortError(signal.reason));
        signal.addEventListener("abort", onAbort, { once: true });
        this.#unwatch = () => signal.removeEventListener("abort", onAbort);
      }
    }
    if (this.#deadline !== undefined) {
      this.#timer = setTimeout(
        () =>
          this.cancelWith(
            // No stream yet: the call is still waiting for a session, so say why it has none.
            this.#stream === undefined
              ? limits.pool.deadlineWhileConnecting()
              : statusError(Code.DEADLINE_EXCEEDED, "the deadline passed"),
          ),
        Math.max(0, this.#deadline - Date.now()),
      );
    }
    if (clientTraced()) this.#trace = clientTrace(this.#source());
    // A signal aborted already cancels the call in a microtask (its handles exist by then): no stream
    // is opened for it meanwhile, which a ready session would do at once.
    if (signal?.aborted !== true) this.#stopWaiting = limits.pool.acquire(this);
  }

  /** What the trace and the cancel event say of the call. */
  #source(): TraceSource {
    const deadline = this.#deadline;
    return {
      method: this.#method.path,
      peer: this.#limits.peer,
      deadline: deadline === undefined ? undefined : new Date(deadline),
    };
  }

  /** The final status. */
  get status(): Later<H2CallStatus> {
    this.#status ??= new Later<H2CallStatus>();
    return this.#status;
  }

  /** The response headers. */
  get headers(): Later<MetadataMap> {
    this.#headers ??= new Later<MetadataMap>();
    return this.#headers;
  }

  /** Messages and bytes each way so far (bytes: every message's serialized size). */
  metrics(): CallMetrics {
    return callMetrics(this.writer, this.reader);
  }

  /** The requests as a sender. */
  tx(): Sender<Req> {
    return this.writer.sender();
  }

  /** The responses as a receiver. */
  get rx(): Receiver<Res> {
    return this.reader.rx;
  }

  /** Cancels the call (a no-op once it ended). */
  cancel(reason?: unknown): void {
    this.cancelWith(statusError(Code.CANCELLED, "cancelled by the caller", reason));
  }

  /** Ends the call here with `error` and resets the stream with CANCEL. */
  cancelWith(error: GrpcError): void {
    if (this.#outcome !== undefined) return;
    const stream = this.#stream;
    this.#endedHere = true;
    this.#finish(error);
    if (stream !== undefined) resetStream(stream, constants.NGHTTP2_CANCEL);
  }

  // SessionWaiter

  ready(session: ClientHttp2Session): void {
    this.#stopWaiting = undefined;
    if (this.#outcome !== undefined) return;
    const headers: Record<string, string | string[] | number> = {
      ...this.#outgoing,
      ":method": "POST",
      ":path": this.#method.path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      "grpc-accept-encoding": ACCEPT_ENCODING,
      "user-agent": "grpc-mpsc-h2",
    };
    if (this.#limits.encoding !== "identity") headers["grpc-encoding"] = this.#limits.encoding;
    if (this.#deadline !== undefined) {
      const left = this.#deadline - Date.now();
      if (left <= 0) {
        this.cancelWith(statusError(Code.DEADLINE_EXCEEDED, "the deadline passed"));
        return;
      }
      headers["grpc-timeout"] = formatTimeout(left);
    }
    this.#outgoing = undefined; // Node keeps what it sent (stream.sentHeaders)
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch (error) {
      // node:http2 refuses some headers gRPC allows (a single-value header such as `authorization`
      // twice, a connection header): the caller's metadata, which no other connection would take.
      this.#finish(
        refusedHeaders(error)
          ? statusError(Code.INTERNAL, `node:http2 refused the request metadata: ${messageOf(error)}`, error)
          : statusError(Code.UNAVAILABLE, "the connection cannot take new calls", error),
      );
      return;
    }
    this.#stream = stream;
    this.#session = session;
    this.#limits.pool.opened(stream);
    setCall(stream, this);
    stream.on("error", ignoreError);
    stream.on("response", ClientCall.#onResponse);
    stream.on("data", ClientCall.#onData);
    stream.on("trailers", ClientCall.#onTrailers);
    stream.on("end", ClientCall.#onEnd);
    this.reader.attach(stream, "identity");
    this.writer.attach(stream, this.#limits.encoding);
    if (this.#halfClosed) this.#endWrites(stream);
  }

  failed(error: GrpcError): void {
    this.#stopWaiting = undefined;
    this.#finish(error);
  }

  /** This end (a getter: no field per call). */
  get side(): "client" {
    return "client";
  }

  // ReadOwner

  decode(bytes: Buffer): Res {
    return this.#method.responseDeserialize(bytes);
  }

  consumerClosed(): void {
    this.cancelWith(statusError(Code.CANCELLED, "cancelled: the response receiver was closed"));
  }

  readFailed(error: GrpcError): void {
    this.cancelWith(error);
  }

  backlogIn(): void {
    this.#applyPending();
  }

  // BurstOwner

  encode(value: Req): Buffer {
    return this.#method.requestSerialize(value);
  }

  beforeFirstWrite(): void {}

  writesEnded(): void {
    if (this.#halfClosed) return;
    this.#halfClosed = true;
    const stream = this.#stream;
    if (stream === undefined) return; // half-closed once it opens
    this.writer.flush();
    this.#endWrites(stream);
  }

  /** Half-closes `stream` once the writer has handed it every message (END_STREAM after the last). */
  #endWrites(stream: ClientHttp2Stream): void {
    this.writer.endAfterWrites(() => {
      if (!stream.destroyed && !stream.writableEnded) stream.end();
    });
  }

  writesRefused(reason: unknown): void {
    this.writesAborted(reason);
  }

  writesAborted(reason: unknown): void {
    this.cancelWith(
      reason instanceof GrpcError
        ? reason
        : reason instanceof UnserializableMessage
          ? statusError(Code.INTERNAL, `request message serialization failure: ${reason.message}`, reason)
          : statusError(Code.CANCELLED, "cancelled: the request stream was aborted", reason),
    );
  }

  writesAbandoned(): void {
    this.writesEnded();
  }

  unobserved(reason: unknown): void {
    this.#unsent ??= new UnsentReport((error) => {
      const onError = this.#onError;
      if (onError === undefined) logError("a request sent without awaiting was refused", error);
      else reportTo(onError, error, "a request sent without awaiting was refused");
    });
    this.#unsent.add(reason);
  }

  /** The response headers; `endStream`: they end the stream (a trailers-only response). */
  #response(headers: IncomingHttpHeaders, endStream: boolean): void {
    const httpStatus = Number(headers[":status"]);
    if (httpStatus !== 200) {
      this.cancelWith(
        receivedError(statusError(codeOfHttpStatus(httpStatus), `the server answered HTTP ${httpStatus}`)),
      );
      return;
    }
    // Trailers-only is HEADERS with END_STREAM (gRPC's spec, and how grpc-js and grpc-go read it): a
    // `grpc-status` in headers that leave the stream open is no status, the trailers will say it.
    if (endStream) {
      this.#fromTrailers(headers);
      return;
    }
    if (!isGrpcContentType(headers["content-type"])) {
      this.cancelWith(
        receivedError(
          statusError(
            Code.UNKNOWN,
            `the server answered with content-type ${String(headers["content-type"])}`,
          ),
        ),
      );
      return;
    }
    const encoding = headerText(headers["grpc-encoding"]) ?? "identity";
    if (!isSupportedEncoding(encoding)) {
      this.cancelWith(
        statusError(
          Code.INTERNAL,
          `the server sent grpc-encoding ${encoding}, which this client cannot read`,
        ),
      );
      return;
    }
    this.reader.attach(this.#stream as ClientHttp2Stream, encoding);
    let metadata: MetadataMap;
    try {
      metadata = metadataFromHeaders(headers, emptyMetadataLike(this.#like));
    } catch (error) {
      this.cancelWith(statusError(Code.INTERNAL, "the response headers are malformed", error));
      return;
    }
    this.#headersSeen = true;
    this.headers.resolve(metadata);
  }

  #fromTrailers(trailers: IncomingHttpHeaders): void {
    if (this.#outcome !== undefined) return;
    const raw = headerText(trailers["grpc-status"]);
    // A code past the ones gRPC defines (a newer server's, a proxy's) is UNKNOWN, with its message kept.
    const code = parseStatus(raw) ?? (raw !== undefined && /^\d+$/.test(raw) ? Code.UNKNOWN : undefined);
    const details = decodeMessage(headerText(trailers["grpc-message"]) ?? "");
    let metadata: MetadataMap;
    try {
      metadata = metadataFromHeaders(trailers, emptyMetadataLike(this.#like));
    } catch {
      metadata = emptyMetadataLike(this.#like);
    }
    if (code === undefined) {
      this.#pending = {
        outcome: receivedError(statusError(Code.UNKNOWN, "the server's trailers carry no valid grpc-status")),
        status: undefined,
      };
    } else if (code === Code.OK) {
      this.#pending = { outcome: null, status: { code, details, metadata } };
    } else {
      const error = new GrpcError(code, details, metadata);
      this.#pending = { outcome: receivedError(error), status: undefined };
    }
    const stream = this.#stream;
    if (stream === undefined || stream.readableEnded) {
      this.#applyPending();
      return;
    }
    // The response is complete, but Node may still hold DATA of it for the stream, paused while rx
    // was full: a reset or a lost connection after the trailers would drop that with the stream, and
    // the call end OK short of messages. The reader takes it now (into its backlog, bounded by the
    // stream's window); 'end' (or 'close', if the stream goes first) then applies the status once
    // that backlog is in rx, as it would have once Node's buffer was.
    if (stream.readableLength > 0) stream.read(stream.readableLength);
  }

  /** Every DATA chunk was read: the trailers' status ends the call, once the reader's backlog is in rx. */
  #applyPending(): void {
    const pending = this.#pending;
    if (pending === undefined || this.#outcome !== undefined || this.reader.holdsBacklog()) return;
    if (pending.outcome === null && this.reader.midMessage) {
      // An OK status after a message cut short: the call failed (its rx would end INTERNAL anyway).
      this.#finish(receivedError(statusError(Code.INTERNAL, "the stream ended in the middle of a message")));
    } else this.#finish(pending.outcome, pending.status);
    // Our side may still be open (a bidi call that did not half-close): the call is over.
    const stream = this.#stream;
    if (stream !== undefined && !stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
  }

  /** The stream closed: with the trailers' status, a reset's, or the connection's loss. */
  streamClosed(): void {
    if (this.#outcome !== undefined) return;
    if (this.#pending !== undefined) {
      this.#applyPending();
      return;
    }
    const stream = this.#stream as ClientHttp2Stream;
    const rst = stream.rstCode;
    const reset = codeOfReset(rst);
    const session = this.#session; // a closed stream no longer says which session it was on
    let error: GrpcError;
    if (this.#limits.pool.closed) {
      // `client.close()` destroyed the session under the call: our doing, not the network's.
      error = statusError(Code.UNAVAILABLE, "the client was closed");
    } else if (rst === constants.NGHTTP2_REFUSED_STREAM) {
      error = statusError(Code.UNAVAILABLE, "the server refused the stream (REFUSED_STREAM)");
    } else if (session === undefined || session.destroyed) {
      // Node closes the streams of a session it destroys (the socket closed or failed) with code
      // CANCEL, but no RST_STREAM came from the server: the connection went, UNAVAILABLE.
      error = statusError(Code.UNAVAILABLE, "the connection to the server was lost");
    } else if (rst === constants.NGHTTP2_CANCEL) {
      error = statusError(Code.CANCELLED, "the server cancelled the call (RST_STREAM CANCEL)");
    } else if (reset !== undefined) {
      error = statusError(reset.code, `the server reset the stream (RST_STREAM ${reset.name})`);
    } else if (session.closed) {
      error = statusError(Code.UNAVAILABLE, "the connection to the server was lost");
    } else if (rst === constants.NGHTTP2_NO_ERROR && stream.readableEnded) {
      error = statusError(
        Code.INTERNAL,
        "the server ended the stream without a status (no grpc-status trailers)",
      );
    } else {
      error = statusError(Code.INTERNAL, `the stream closed without a status (RST_STREAM code ${rst})`);
    }
    this.#finish(receivedError(error));
  }

  /** The one end of the call. */
  #finish(outcome: GrpcError | null, okStatus?: H2CallStatus): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#unwatch?.();
    this.#stopWaiting?.();
    this.writer.callEnded(endedBy(outcome));
    this.reader.finish(outcome);
    this.#observeEnd(outcome);
    if (outcome === null) {
      this.status.resolve(
        okStatus ?? { code: Code.OK, details: "", metadata: emptyMetadataLike(this.#like) },
      );
      if (!this.#headersSeen) this.headers.resolve(emptyMetadataLike(this.#like));
    } else {
      this.status.reject(outcome);
      if (!this.#headersSeen) this.headers.reject(outcome);
    }
    this.onEnd?.(outcome);
  }

  /** The call ended: its trace and the cancel event hear how. */
  #observeEnd(outcome: GrpcError | null): void {
    const local = this.#endedHere && outcome !== null && outcome.code !== Code.INTERNAL;
    const ending = clientEnding(outcome, local);
    if (ending === "cancelled" && outcome !== null && cancelWatched()) {
      publishCancel("client", this.#trace ?? this.#source(), outcome, local, ending);
    }
    if (this.#trace !== undefined) endTrace(this.#trace, outcome, ending, this.writer, this.reader);
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
