/**
 * Server-handler wrappers: `async (requests, responses, ctx) => { ... }` instead of raw grpc-js calls.
 *
 * @module
 */
import {
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  Metadata,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import { channel, type Receiver, type Sender } from "../index.js";
import { capacityOption } from "./options.js";
import { readCall } from "./read.js";
import { cancelledError, GrpcError, isStatusError } from "./status.js";
import { sendTo } from "./write.js";

/** What a handler knows about its call. */
export interface ServerContext {
  /** The request metadata. */
  readonly metadata: Metadata;
  /** The client's deadline, or `undefined` when it set none. */
  readonly deadline: Date | undefined;
  /**
   * Aborts when the call ends before the handler finished: client cancel, deadline or lost
   * connection. The reason is a {@link GrpcError} (`CANCELLED` or `DEADLINE_EXCEEDED`).
   */
  readonly signal: AbortSignal;
  /** The client's address. */
  readonly peer: string;
  /** Sends the initial metadata (before the first response). */
  sendMetadata(metadata: Metadata): void;
  /** Trailing metadata: add to it; it is sent with the final status, OK or not. */
  readonly trailers: Metadata;
}

/** Options of the server-handler wrappers. */
export interface ServeOptions {
  /** Capacity of the `requests` receiver (default 16). */
  requestCapacity?: number;
  /** Capacity of the `responses` sender (default 16). */
  responseCapacity?: number;
  /**
   * Sees every handler error that is not a status (a {@link GrpcError} or status-shaped error): those
   * reach the client as `UNKNOWN` "internal error", so this is where to log them. Default: `console.error`.
   */
  onError?: (error: unknown, ctx: ServerContext) => void;
}

type AnyServerCall =
  | ServerDuplexStream<unknown, unknown>
  | ServerWritableStream<unknown, unknown>
  | ServerReadableStream<unknown, unknown>;

/** The context of one call; `finish()` marks the call as answered, after which a cancel is not reported. */
class HandlerContext implements ServerContext {
  readonly metadata: Metadata;
  readonly deadline: Date | undefined;
  readonly peer: string;
  readonly trailers = new Metadata();
  readonly #controller = new AbortController();
  readonly #call: AnyServerCall;
  #finished = false;

  constructor(call: AnyServerCall) {
    this.#call = call;
    this.metadata = call.metadata;
    this.peer = call.getPeer();
    const deadline = call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() : deadline;
    this.deadline = Number.isFinite(ms) ? new Date(ms) : undefined;
    if (call.cancelled) this.#onCancelled();
    else call.on("cancelled", this.#onCancelled);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get finished(): boolean {
    return this.#finished;
  }

  sendMetadata(metadata: Metadata): void {
    this.#call.sendMetadata(metadata);
  }

  /** The handler's outcome is being sent (or the call is gone): stop watching for cancels. */
  finish(): void {
    this.#finished = true;
    this.#call.removeListener("cancelled", this.#onCancelled);
  }

  // grpc-js emits 'cancelled' at the end of every call since 1.10: only one before finish() counts.
  #onCancelled = (): void => {
    if (this.#finished) return;
    this.finish();
    const expired = this.deadline !== undefined && Date.now() >= this.deadline.getTime();
    this.#controller.abort(
      expired
        ? new GrpcError(status.DEADLINE_EXCEEDED, "deadline exceeded")
        : cancelledError("cancelled by the client"),
    );
  };
}

type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Runs a handler and never lets it throw or reject unobserved (grpc-js ignores a handler's promise). */
function run<R>(invoke: () => Promise<R>): Promise<Outcome<R>> {
  try {
    return invoke().then(
      (value) => ({ ok: true, value }),
      (error: unknown) => ({ ok: false, error }),
    );
  } catch (error) {
    return Promise.resolve({ ok: false, error });
  }
}

/** The status a failed handler sends: its own if it is a status, else UNKNOWN (and `onError` sees it). */
function failureStatus(error: unknown, ctx: HandlerContext, options: ServeOptions | undefined): GrpcError {
  if (!isStatusError(error)) (options?.onError ?? defaultOnError)(error, ctx);
  const mapped = GrpcError.from(error);
  const metadata = mapped.metadata.clone();
  metadata.merge(ctx.trailers);
  return new GrpcError(mapped.code, mapped.details, metadata);
}

function defaultOnError(error: unknown, ctx: ServerContext): void {
  console.error(`grpc-mpsc: handler for ${ctx.peer} failed:`, error);
}

/** Sends a streaming handler's responses, then its status. */
function respond<Res>(
  call: ServerDuplexStream<unknown, Res> | ServerWritableStream<unknown, Res>,
  capacity: number,
  options: ServeOptions | undefined,
  invoke: (responses: Sender<Res>, ctx: ServerContext) => Promise<void>,
  requests?: Receiver<unknown>,
): void {
  const ctx = new HandlerContext(call);
  const [responses, out] = channel<Res>(capacity);
  const writing = sendTo(call, out, { end: false }).then(
    () => true,
    () => false,
  );
  void run(() => invoke(responses, ctx)).then(async (outcome) => {
    responses.close();
    requests?.close();
    const written = await writing;
    if (!written || ctx.finished) {
      ctx.finish();
      return; // the call is gone: there is nobody to send a status to
    }
    ctx.finish();
    if (outcome.ok) call.end(ctx.trailers);
    else call.emit("error", failureStatus(outcome.error, ctx, options));
  });
}

/**
 * Wraps a bidirectional-streaming handler. `requests` is the client's stream as a {@link Receiver};
 * `responses` is a {@link Sender} into the call, with backpressure (its `send` waits while the
 * client does not read).
 *
 * When the handler resolves, the responses it sent are written and the call ends with OK (and
 * `ctx.trailers`). When it throws or rejects, the responses sent before are written and the call
 * ends with the error's status (see {@link GrpcError.from}). When the client cancels (or the deadline
 * passes), `ctx.signal` aborts, a pending `responses.send` rejects with `SendError`, and `requests`
 * rejects with `CANCELLED`. No 'error' event or rejection is ever left unhandled.
 *
 * @throws RangeError at wrap time for an invalid capacity option.
 *
 * @example
 * ```ts
 * server.addService(MessageServiceService, {
 *   streamMessages: serveBidi<MessageRequest, MessageResponse>(async (requests, responses) => {
 *     for await (const req of requests) await responses.send({ message: `Hello, ${req.name}!` });
 *   }),
 * });
 * ```
 */
export function serveBidi<Req, Res>(
  handler: (requests: Receiver<Req>, responses: Sender<Res>, ctx: ServerContext) => Promise<void>,
  options?: ServeOptions,
): handleBidiStreamingCall<Req, Res> {
  const requestCapacity = capacityOption(options?.requestCapacity, "requestCapacity");
  const responseCapacity = capacityOption(options?.responseCapacity, "responseCapacity");
  return (call) => {
    const requests = readCall(call, requestCapacity, {});
    respond(call, responseCapacity, options, (responses, ctx) => handler(requests, responses, ctx), requests);
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
  handler: (request: Req, responses: Sender<Res>, ctx: ServerContext) => Promise<void>,
  options?: ServeOptions,
): handleServerStreamingCall<Req, Res> {
  const responseCapacity = capacityOption(options?.responseCapacity, "responseCapacity");
  return (call) => {
    respond(call, responseCapacity, options, (responses, ctx) => handler(call.request, responses, ctx));
  };
}

/**
 * Wraps a client-streaming handler: a {@link Receiver} of requests; the handler's return value is
 * the single response. A throw or rejection becomes the status, as in {@link serveBidi}.
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
  handler: (requests: Receiver<Req>, ctx: ServerContext) => Promise<Res>,
  options?: ServeOptions,
): handleClientStreamingCall<Req, Res> {
  const requestCapacity = capacityOption(options?.requestCapacity, "requestCapacity");
  return (call, callback) => {
    const ctx = new HandlerContext(call);
    const requests = readCall(call, requestCapacity, {});
    void run(() => handler(requests, ctx)).then((outcome) => {
      requests.close();
      if (ctx.finished) return;
      ctx.finish();
      if (outcome.ok) callback(null, outcome.value, ctx.trailers);
      else callback(failureStatus(outcome.error, ctx, options));
    });
  };
}
