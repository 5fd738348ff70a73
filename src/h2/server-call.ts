/**
 * One call on the h2 server: the handler's context, its `requests` (a {@link StreamReader}) and
 * `responses` (a {@link BurstWriter}), and the end of the call, told to each of them once. The rules
 * are the grpc-js wrappers' (`src/grpc/server.ts`): the call ends OK once the handler returned and
 * every `responses` handle closed; only a `GrpcError` of the handler's making carries its code and
 * details, anything else is `UNKNOWN` and goes to `onError`; a client cancel (RST_STREAM CANCEL) is
 * never taken for a half-close.
 *
 * @internal
 */
import { constants, type ServerHttp2Stream } from "node:http2";
import type { Receiver, Sender } from "../channel/index.js";
import { SignalledContext } from "../grpc/call-context.js";
import { Code } from "../grpc/codes.js";
import { resetAtDeadline } from "../grpc/deadline.js";
import { endedBy } from "../grpc/ended-by.js";
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
} from "../grpc/events.js";
import { type GrpcError, statusError } from "../grpc/grpc-error.js";
import { isWayOut, type Outcome, settle, settleWith, wireStatus } from "../grpc/handler-outcome.js";
import { logError, reportTo, UnsentReport } from "../grpc/report.js";
import { afterRoundTrip } from "../grpc/round-trip.js";
import type { Encoding } from "./compression.js";
import { ACCEPT_ENCODING } from "./compression.js";
import type { H2ServerContext } from "./context.js";
import type { MethodDefinition } from "./definition.js";
import { type MetadataLike, metadataToHeaders, WireMetadata } from "./metadata.js";
import { type ReadOwner, StreamReader } from "./reader.js";
import { closeAfterStatus, resetStream } from "./reset.js";
import { codeOfReset, encodeMessage } from "./status-headers.js";
import { CALL, type StreamCall, setCall } from "./stream-call.js";
import { LONGEST_TIMER } from "./timeout.js";
import { type BurstOwner, BurstWriter } from "./writer.js";

/** The options a call needs from its server. */
export interface CallLimits {
  readonly requestCapacity: number;
  readonly responseCapacity: number;
  readonly maxReceive: number;
  readonly maxSend: number;
  readonly onError: ((error: unknown, ctx: H2ServerContext) => void) | undefined;
}

/** What a call tells its server. */
export interface CallRegistry {
  /** The call ended: the server no longer holds it. */
  forget(call: ServerCall): void;
}

/** A handler of any kind, as the call runs it. */
export type AnyHandler = (...args: never[]) => Promise<unknown>;

/** The longest status details sent; longer ones are cut. */
const MAX_DETAILS = 8192;

/** The context of one call; its signal and trailers are made when first asked for. */
class Context extends SignalledContext implements H2ServerContext {
  readonly method: string;
  readonly metadata: WireMetadata;
  readonly deadline: Date | undefined;
  readonly #call: ServerCall;
  #trailers: WireMetadata | undefined;

  constructor(call: ServerCall, method: string, metadata: WireMetadata, deadline: number | undefined) {
    super();
    this.#call = call;
    this.method = method;
    this.metadata = metadata;
    this.deadline = deadline === undefined ? undefined : new Date(deadline);
  }

  get peer(): string {
    return this.#call.peer;
  }

  get trailers(): WireMetadata {
    this.#trailers ??= new WireMetadata();
    return this.#trailers;
  }

  get trailersIfAny(): WireMetadata | undefined {
    return this.#trailers;
  }

  sendMetadata(metadata: MetadataLike): void {
    this.#call.sendHeaders(metadata);
  }

  metrics(): CallMetrics {
    return this.#call.metrics();
  }
}

/** The `grpc-status` and `grpc-message` of outgoing trailers, without their metadata. */
function statusOnly(trailers: Record<string, string | string[] | number>): Record<string, string> {
  const out: Record<string, string> = { "grpc-status": String(trailers["grpc-status"]) };
  const message = trailers["grpc-message"];
  if (typeof message === "string") out["grpc-message"] = message;
  return out;
}

/** A stream of a server call: it holds the call, which its listeners (shared by every call) reach. */
type CallStream = ServerHttp2Stream & { [CALL]?: StreamCall };

/** The call of a stream that has one (every stream a shared listener is on). */
function callOf(stream: CallStream): ServerCall {
  return stream[CALL] as ServerCall;
}

/** One server call. */
export class ServerCall implements ReadOwner<unknown>, BurstOwner<unknown>, StreamCall {
  // The stream's listeners, one function for every call: Node calls them with the stream as `this`.
  static readonly #onData = function (this: CallStream, chunk: Buffer): void {
    callOf(this).#reader?.chunk(chunk);
  };
  static readonly #onEnd = function (this: CallStream): void {
    callOf(this).#peerEnded();
  };
  static readonly #onWantTrailers = function (this: CallStream): void {
    callOf(this).#wantTrailers();
  };

  readonly ctx: Context;
  readonly #stream: ServerHttp2Stream;
  readonly #limits: CallLimits;
  readonly #registry: CallRegistry;
  readonly #encoding: Encoding;
  /** The method served, once the handler runs. */
  #method: MethodDefinition<unknown, unknown> | undefined;
  #reader: StreamReader<unknown> | undefined;
  #writer: BurstWriter<unknown> | undefined;
  /** A streaming handler's own `responses`, closed when it settles. */
  #responses: Sender<unknown> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #headersSent = false;
  #trailers: Record<string, string | string[]> | undefined;
  #returned = false;
  #writesEnded = false;
  /** The status was sent, or the call ended without one. */
  #settled = false;
  #unsent: UnsentReport | undefined;
  /** Whether a client's END_STREAM is confirmed by a round trip before it counts as a half-close. */
  #confirmEnd = false;
  /** The call's trace, if anybody listened to server calls (or cancels, shutdowns) when it came. */
  readonly #trace: CallTrace | undefined;
  /** The server's shutdown ended the call. */
  #byShutdown = false;
  /** The trailers went to the stream (wantTrailers). */
  #trailersSent = false;
  /** The deadline or the shutdown came before the trailers went: the stream closes after them. */
  #closeWhenTrailersSent = false;

  constructor(
    stream: ServerHttp2Stream,
    path: string,
    metadata: WireMetadata,
    deadline: number | undefined,
    encoding: Encoding,
    limits: CallLimits,
    registry: CallRegistry,
  ) {
    this.#stream = stream;
    this.#limits = limits;
    this.#registry = registry;
    this.#encoding = encoding;
    this.ctx = new Context(this, path, metadata, deadline);
    this.#trace = serverTrace(this.ctx);
    if (deadline !== undefined) this.#armDeadline(deadline);
    setCall(stream, this);
  }

  /**
   * Ends the call at `deadline`. A `grpc-timeout` may say up to 99999999 hours, and a timer longer
   * than {@link LONGEST_TIMER} fires at once (Node sets it to 1 ms): a far deadline waits in steps.
   */
  #armDeadline(deadline: number): void {
    const left = deadline - Date.now();
    this.#timer =
      left > LONGEST_TIMER
        ? setTimeout(() => this.#armDeadline(deadline), LONGEST_TIMER)
        : setTimeout(
            () => this.endWith(statusError(Code.DEADLINE_EXCEEDED, "the deadline passed")),
            Math.max(0, left),
          );
  }

  get peer(): string {
    const s = this.#stream.session?.socket;
    return s === undefined ? "unknown" : `${s.remoteAddress}:${s.remotePort}`;
  }

  /** Messages and bytes each way so far (bytes: every message's serialized size). */
  metrics(): CallMetrics {
    return callMetrics(this.#writer, this.#reader);
  }

  /** The handler's invocation, run inside the call's trace when it has one. */
  #traced<R>(invoke: () => Promise<R>): () => Promise<R> {
    const trace = this.#trace;
    return trace === undefined ? invoke : () => runTraced(trace, invoke);
  }

  /** Starts the handler of `method` on this call. */
  run(method: MethodDefinition<unknown, unknown>, handler: AnyHandler): void {
    this.#method = method;
    const reader = new StreamReader<unknown>(
      method.requestStream ? this.#limits.requestCapacity : 2,
      this.#limits.maxReceive,
      this,
    );
    this.#reader = reader;
    this.#confirmEnd = method.requestStream;
    reader.attach(this.#stream, this.#encoding);
    this.#stream.on("data", ServerCall.#onData);
    this.#stream.on("end", ServerCall.#onEnd);
    const writer = new BurstWriter<unknown>(
      method.responseStream ? this.#limits.responseCapacity : 1,
      this.#limits.maxSend,
      this,
    );
    this.#writer = writer;
    writer.attach(this.#stream, this.#encoding);
    const h = handler as (...args: unknown[]) => Promise<unknown>;
    if (method.requestStream && method.responseStream) {
      const responses = writer.sender();
      this.#runStreaming(
        this.#traced(() => h(reader.rx, responses, this.ctx) as Promise<void>),
        responses,
      );
    } else if (method.requestStream) {
      this.#runSingle(this.#traced(() => h(reader.rx, this.ctx)));
    } else {
      // One request: read it (and the client's half-close) before the handler starts.
      settle(
        () => single(reader.rx),
        (outcome) => {
          if (!outcome.ok) return this.#fail(outcome.error);
          const request = outcome.value;
          if (method.responseStream) {
            const responses = writer.sender();
            this.#runStreaming(
              this.#traced(() => h(request, responses, this.ctx) as Promise<void>),
              responses,
            );
          } else {
            this.#runSingle(this.#traced(() => h(request, this.ctx)));
          }
        },
      );
    }
  }

  #runStreaming(invoke: () => Promise<void>, responses: Sender<unknown>): void {
    this.#responses = responses;
    settleWith(invoke, this, ServerCall.#streamingSettled);
  }

  /** A streaming handler returned or failed (one function for every call: no closure per call). */
  static readonly #streamingSettled = (call: ServerCall, outcome: Outcome<void>): void => {
    const responses = call.#responses as Sender<unknown>;
    call.#responses = undefined;
    if (outcome.ok) {
      call.#returned = true;
      responses.close(); // may end the writes, and with them the call
      if (call.#writesEnded) call.#sendStatus(Code.OK, "", call.ctx.trailersIfAny);
    } else {
      call.#fail(outcome.error);
      responses.close();
    }
  };

  #runSingle(invoke: () => Promise<unknown>): void {
    settleWith(invoke, this, ServerCall.#singleSettled);
  }

  /** A handler of one response returned or failed. */
  static readonly #singleSettled = (call: ServerCall, outcome: Outcome<unknown>): void => {
    if (!outcome.ok) {
      call.#fail(outcome.error);
      return;
    }
    if (outcome.value === undefined) {
      call.#fail(new TypeError("the handler resolved without a response"));
      return;
    }
    if (call.#settled) return;
    const responses = (call.#writer as BurstWriter<unknown>).sender();
    try {
      responses.trySend(outcome.value);
    } catch (error) {
      call.#fail(error);
      return;
    }
    call.#sendStatus(Code.OK, "", call.ctx.trailersIfAny);
  };

  /** Sends the response headers (with `metadata`), unless they are out already. */
  sendHeaders(metadata?: MetadataLike): void {
    if (this.#headersSent) {
      if (metadata !== undefined) throw new Error("the response headers were sent already");
      return;
    }
    const headers: Record<string, string | string[] | number> = {
      ":status": 200,
      "content-type": "application/grpc+proto",
      "grpc-accept-encoding": ACCEPT_ENCODING,
    };
    if (this.#encoding !== "identity") headers["grpc-encoding"] = this.#encoding;
    if (metadata !== undefined) metadataToHeaders(metadata, headers);
    const stream = this.#stream;
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    stream.respond(headers, { waitForTrailers: true }); // may throw for its headers: nothing was sent
    this.#headersSent = true;
    stream.on("wantTrailers", ServerCall.#onWantTrailers);
  }

  /** Ends the call now with `error` (deadline, a refused message, or the server's shutdown). */
  endWith(error: GrpcError, byShutdown = false): void {
    const giveUp = byShutdown || error.code === Code.DEADLINE_EXCEEDED;
    if (!this.#settled) {
      this.#byShutdown = byShutdown;
      this.#sendStatus(error.code, error.details, error.metadata, error);
      this.#ended(error);
    } else if (!giveUp) return;
    // At a shutdown or the deadline, a status queued behind responses the client does not take
    // (HTTP/2 flow control holds them, and trailers follow the data) would keep the stream, and with
    // it the connection and the shutdown, open for ever (a client announcing a window of 0 holds it
    // so past any deadline): the stream is reset instead, which the client reads as CANCELLED. So too
    // for a status the handler settled (OK, or its error) that waits there still.
    if (!giveUp) return;
    const stream = this.#stream;
    if (stream.writableLength > 0 || this.#writer?.pending === true)
      resetStream(stream, constants.NGHTTP2_CANCEL);
    // The status is out or on its way, but a client that never ends its side would hold the stream
    // open (and a shutdown with it) for ever: RST_STREAM NO_ERROR after the trailers tells it the
    // call is over (as grpc-go's server does).
    else if (this.#trailersSent) closeAfterStatus(stream);
    else this.#closeWhenTrailersSent = true;
  }

  /** This end (a getter: no field per call). */
  get side(): "server" {
    return "server";
  }

  // ReadOwner

  decode(bytes: Buffer): unknown {
    return (this.#method as MethodDefinition<unknown, unknown>).requestDeserialize(bytes);
  }

  consumerClosed(): void {
    // The handler stopped reading: the stream stays paused, so flow control holds the client.
  }

  readFailed(error: GrpcError): void {
    // The handler's `requests` reject with the status the client is sent, not a bare CANCELLED.
    this.#reader?.finish(error);
    this.endWith(error);
  }

  // BurstOwner

  encode(value: unknown): Buffer {
    return (this.#method as MethodDefinition<unknown, unknown>).responseSerialize(value);
  }

  beforeFirstWrite(): void {
    this.sendHeaders();
  }

  writesEnded(): void {
    this.#writesEnded = true;
    if (this.#returned) this.#sendStatus(Code.OK, "", this.ctx.trailersIfAny);
  }

  writesAborted(reason: unknown): void {
    this.#fail(reason);
  }

  writesRefused(reason: unknown): void {
    this.#fail(reason, false); // a response the transport refused: the handler did not end the call
  }

  writesAbandoned(): void {
    this.writesEnded();
  }

  unobserved(reason: unknown): void {
    this.#unsent ??= new UnsentReport((error) => this.#report(error));
    this.#unsent.add(reason);
  }

  /**
   * The handler failed (`byHandler`: by its own throw or `responses.abort`, which its ctx.signal does
   * not repeat to it): the call ends with its status (`UNKNOWN` unless it chose one).
   */
  #fail(error: unknown, byHandler = true): void {
    if (this.#settled) {
      if (!isWayOut(error)) this.#report(error);
      return;
    }
    const wire = wireStatus(error, (e) => this.#report(e));
    const trailers = new WireMetadata();
    try {
      trailers.merge(wire.metadata);
    } catch (e) {
      this.#report(e);
    }
    const own = this.ctx.trailersIfAny;
    if (own !== undefined) trailers.merge(own);
    this.#sendStatus(wire.code, wire.details, trailers);
    this.#ended(wire, "error", byHandler);
  }

  /** Sends the final status once: in trailers, or trailers-only when no headers went out. */
  #sendStatus(code: number, details: string, trailers: MetadataLike | undefined, reason?: GrpcError): void {
    if (this.#settled) return;
    this.#settled = true;
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) {
      this.#forget();
      return;
    }
    const out: Record<string, string | string[] | number> = { "grpc-status": String(code) };
    const text = details.length > MAX_DETAILS ? `${details.slice(0, MAX_DETAILS)}... (cut)` : details;
    if (text !== "") out["grpc-message"] = encodeMessage(text);
    if (trailers !== undefined) {
      try {
        metadataToHeaders(trailers, out);
      } catch (error) {
        this.#report(error); // a reserved key in ctx.trailers: the status goes out without them
      }
    }
    if (code === Code.OK) {
      this.#writer?.flush();
      if (this.#trace !== undefined) endTrace(this.#trace, null, "ok", this.#writer, this.#reader);
    }
    // The handler's `requests` end with what ended the call (the deadline, a shutdown, a refused
    // message: as its ctx.signal says), or as cancelled by the server when the handler itself failed.
    this.#reader?.finish(
      code === Code.OK ? null : (reason ?? statusError(Code.CANCELLED, "the server ended the call")),
    );
    if (!this.#headersSent) {
      this.#headersSent = true;
      const head = { ":status": 200, "content-type": "application/grpc+proto" };
      try {
        stream.respond({ ...head, ...out }, { endStream: true });
      } catch (error) {
        // node:http2 refused a header of the metadata (nothing was sent): the status goes without it.
        this.#report(error);
        stream.respond({ ...head, ...statusOnly(out) }, { endStream: true });
      }
      this.#trailersSent = true; // the stream stays the call's until the client ends its side too
      this.#closeReading();
    } else {
      // The trailers follow the responses, which the client's window may hold, and the client may hold
      // its side open after them: the call stays the server's (its shutdown, its deadline) until the
      // stream closes.
      this.#trailers = out as Record<string, string | string[]>;
      // After the whole of what was handed over (a message cut at a slice must not meet the trailers).
      const end = (): void => {
        if (!stream.destroyed && !stream.writableEnded) stream.end();
      };
      if (this.#writer === undefined) end();
      else this.#writer.endAfterWrites(end);
    }
  }

  /**
   * The client's END_STREAM: a half-close, unless the stream was reset. A client that resets a
   * stream whose side is open may send END_STREAM first and RST_STREAM only after (grpc-js does:
   * Node's `Http2Stream.close` works that way, see `reset.ts`), so for a method whose client streams
   * the end is taken for a half-close only after a round trip (two turns, then a PING's answer): by
   * then a reset sent with it has arrived and closed the call as cancelled.
   */
  #peerEnded(): void {
    if (this.#wasReset()) return; // 'close' tells the call it was cancelled
    if (!this.#confirmEnd) {
      this.#reader?.finish(null);
      return;
    }
    setImmediate(() =>
      setImmediate(() => {
        if (this.#wasReset()) return;
        afterRoundTrip(this.#stream.session, () => {
          if (!this.#wasReset()) this.#reader?.finish(null);
        });
      }),
    );
  }

  #wasReset(): boolean {
    const stream = this.#stream;
    return stream.aborted || (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR);
  }

  #wantTrailers(): void {
    const trailers = this.#trailers ?? { "grpc-status": String(Code.OK) };
    try {
      this.#stream.sendTrailers(trailers);
    } catch (error) {
      // The stream was destroyed in between (the client learns it from the reset), or node:http2
      // refused a header metadataToHeaders let by: the status goes without the metadata.
      if (!this.#stream.destroyed) {
        this.#report(error);
        try {
          this.#stream.sendTrailers(statusOnly(trailers));
        } catch {
          // destroyed after all
        }
      }
    }
    this.#trailersSent = true;
    if (this.#closeWhenTrailersSent) closeAfterStatus(this.#stream);
    this.#closeReading();
  }

  /**
   * The status is out but the client may still be sending: what it sends is read and dropped (a
   * paused stream would hold the connection's window) until it ends or resets its side. An
   * RST_STREAM right after the trailers is no answer: nghttp2 may send the reset before them.
   */
  #closeReading(): void {
    const stream = this.#stream;
    if (!stream.readableEnded && !stream.destroyed) stream.resume();
  }

  /** The stream closed: if no status went out, the client reset it or the connection went away. */
  streamClosed(): void {
    if (this.#settled) {
      this.#forget();
      return;
    }
    this.#settled = true;
    this.#forget();
    const code = this.#stream.rstCode;
    // A client's RST_STREAM CANCEL; Node closes the streams of a session it destroys (the connection
    // lost) with CANCEL too, and which it was cannot be told apart by the time of 'close' reliably
    // (a client that resets and exits is seen both ways): both are CANCELLED to the handler.
    const cancelled = code === constants.NGHTTP2_CANCEL;
    // ENHANCE_YOUR_CALM: gRPC's C core refusing a response over its receive limit.
    const reset = codeOfReset(code);
    // A client resets its call at its deadline, a moment before ours (it started counting first): a
    // reset that comes that close to the deadline is the deadline, as the handler should hear it.
    const deadline = this.ctx.deadline?.getTime();
    const atDeadline = cancelled && deadline !== undefined && resetAtDeadline(deadline);
    const reason = atDeadline
      ? statusError(Code.DEADLINE_EXCEEDED, "the deadline passed (the client reset the call at it)")
      : cancelled
        ? statusError(Code.CANCELLED, "the client cancelled the call")
        : code === constants.NGHTTP2_NO_ERROR || code === undefined
          ? statusError(Code.CANCELLED, "the connection to the client was lost")
          : reset !== undefined
            ? statusError(reset.code, `the client reset the stream (RST_STREAM ${reset.name})`)
            : statusError(Code.CANCELLED, `the stream was reset with HTTP/2 code ${code}`);
    this.#reader?.finish(reason);
    this.#ended(reason, atDeadline ? "deadline" : cancelled || reset !== undefined ? "cancelled" : "lost");
  }

  /**
   * The call is over (`ending`: how, if the caller knows better than the reason's code): every handle
   * learns it; `byHandler`: the handler's own error ended it.
   */
  #ended(reason: GrpcError, ending?: CallEnding, byHandler = false): void {
    const how = ending ?? serverEnding(reason, this.#byShutdown, false);
    const source = this.#trace ?? this.ctx; // the trace read the peer while the connection was up
    if (how === "shutdown" && this.#byShutdown) publishShutdown(source, reason);
    else if (how === "cancelled" || how === "lost") publishCancel("server", source, reason, false, how);
    if (this.#trace !== undefined) endTrace(this.#trace, reason, how, this.#writer, this.#reader);
    // The handler's own error (it threw, or aborted `responses`) is no news to it: ctx.signal tells
    // a handler of an end it did not choose, as the grpc-js adapters' does.
    if (!byHandler) this.ctx.abort(reason);
    this.#reader?.finish(reason);
    this.#writer?.callEnded(endedBy(reason));
  }

  #forget(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#registry.forget(this);
  }

  #report(error: unknown): void {
    const onError = this.#limits.onError;
    if (onError === undefined) logError(`the h2 handler of ${this.ctx.method} failed`, error);
    else reportTo((e) => onError(e, this.ctx), error, `${this.ctx.method}: a handler error`);
  }
}

/** The one request of a unary or server-streaming call; INTERNAL for none or more than one. */
async function single(rx: Receiver<unknown>): Promise<unknown> {
  const first = await rx.recv();
  if (first === undefined) throw statusError(Code.INTERNAL, "the client sent no request message");
  if ((await rx.recv()) !== undefined) {
    rx.close();
    throw statusError(Code.INTERNAL, "the client sent more than one request message");
  }
  return first;
}
