/**
 * The h2 client: one HTTP/2 session per target (made on the first call, made again with backoff
 * after it fails), and calls with the grpc-js helpers' handles (`tx`, `rx`, `status`, `headers`,
 * `cancel`).
 *
 * @module
 */
import type { Receiver, Sender } from "../channel/index.js";
import { invalid, invalidType, positiveInteger } from "../channel/index.js";
import { Code } from "../grpc/codes.js";
import type { CallMetrics } from "../grpc/events.js";
import { statusError } from "../grpc/grpc-error.js";
import { field } from "../grpc/hostile.js";
import { Later } from "../grpc/later.js";
import { windowOption } from "../grpc/options.js";
import type { ClientCall, ClientLimits, H2CallOptions, H2CallStatus } from "./client-call.js";
import { ClientCall as Call } from "./client-call.js";
import { isMethodDefinition, type MethodDefinition } from "./definition.js";
import { DEFAULT_MAX_MESSAGE } from "./framing.js";
import { type ClientKeepalive, clientKeepalive } from "./keepalive.js";
import type { MetadataMap } from "./metadata.js";
import { type Backoff, type ClientTls, SessionPool } from "./session.js";

/** Options of {@link connect}. */
export interface H2ClientOptions {
  /** The largest message received, in bytes (default 4 MiB): a larger one ends the call RESOURCE_EXHAUSTED. */
  maxReceiveMessageLength?: number;
  /** The largest message sent, in bytes (default 4 MiB): a larger one ends the call RESOURCE_EXHAUSTED. */
  maxSendMessageLength?: number;
  /** Compress every request with gzip (`grpc-encoding: gzip`); default `"identity"`. */
  compression?: "identity" | "gzip";
  /** How reconnects back off after a failed connect. */
  backoff?: Backoff;
  /**
   * Connects over TLS (ALPN `h2`) with these: `ca` to trust a private CA, `cert` and `key` for mutual
   * TLS. A target `https://host:port` connects over TLS with Node's default roots even without this;
   * without either, the connection is cleartext HTTP/2 (h2c).
   */
  tls?: ClientTls;
  /**
   * PINGs the server every `timeMs` while calls are open (or always, with `withoutCalls`), and drops
   * the connection when one is not acknowledged within `timeoutMs`: its calls end `UNAVAILABLE`
   * instead of waiting on a server that vanished. Default: no pings. A server enforces how often it
   * may be pinged (gRPC's default is once in 5 minutes; a client that pings more often is sent
   * GOAWAY `too_many_pings`): agree on `timeMs` with the server's operators.
   */
  keepalive?: ClientKeepalive;
  /**
   * The most memory one connection may use, in MiB (Node's `maxSessionMemory`; default: no limit, as
   * grpc-js's client). Past it, Node refuses new calls and resets the calls whose responses arrive
   * (RST_STREAM ENHANCE_YOUR_CALM, read as INTERNAL): Node's own default of 10 MiB is reached by 1,000
   * busy streams on one connection.
   */
  maxSessionMemory?: number;
  /**
   * Each call's HTTP/2 flow-control window for what the server sends, in bytes (SETTINGS_INITIAL_WINDOW_SIZE,
   * default 65535, from 1 to 2147483647): how much a call that does not read takes off the server before it holds.
   * Memory: a call whose `rx` falls behind holds up to this many bytes beyond its `responseCapacity`
   * messages; a larger window streams faster over a link with latency (about one window per round
   * trip). See docs/h2.md, "Flow-control windows".
   */
  initialWindowSize?: number;
  /**
   * The connection's HTTP/2 flow-control window for what the server sends, in bytes (default 65535,
   * HTTP/2's, from 1 to 2147483647): how much all its calls together take off the server before it holds, raised with a
   * WINDOW_UPDATE as the connection opens. Set it past `initialWindowSize` for several calls to stream
   * at their windows at once (grpc-js's `grpc-node.flow_control_window` sets both).
   */
  connectionWindowSize?: number;
}

/** What every h2 call handle has: its final status, its response headers, and a way to cancel it. */
export interface H2CallHandle {
  /** The final status with its trailers; rejects with a `GrpcError` for a non-OK one. Never unhandled. */
  readonly status: Promise<H2CallStatus>;
  /** The response headers; empty for a trailers-only OK, rejected with the error otherwise. */
  readonly headers: Promise<MetadataMap>;
  /** Cancels the call (RST_STREAM CANCEL); a no-op once it ended. */
  cancel(reason?: unknown): void;
  /**
   * Messages and bytes each way so far (bytes: each message's serialized size, before compression).
   * Like `cancel`, a function of its own: it works destructured (`const { metrics } = call`).
   */
  metrics(): CallMetrics;
}

/** A bidirectional-streaming call as channels (as the grpc-js helpers' `BidiCall`). */
export interface H2BidiCall<Req, Res> extends H2CallHandle {
  /** Requests: `send` waits while `requestCapacity` are queued; `close()` half-closes after them. */
  readonly tx: Sender<Req>;
  /** Responses: ends on OK, rejects with a `GrpcError` otherwise, after the messages received; closing it cancels. */
  readonly rx: Receiver<Res>;
}

/** A server-streaming call as a receiver. */
export interface H2ServerStreamCall<Res> extends H2CallHandle {
  /** As {@link H2BidiCall.rx}. */
  readonly rx: Receiver<Res>;
}

/** A client-streaming call as a sender. */
export interface H2ClientStreamCall<Req, Res> extends H2CallHandle {
  /** As {@link H2BidiCall.tx}. */
  readonly tx: Sender<Req>;
  /** The single response; rejects with a `GrpcError`. Never unhandled. */
  readonly response: Promise<Res>;
}

/** A unary call: one request, one response. */
export interface H2UnaryCall<Res> extends H2CallHandle {
  /** The response; rejects with a `GrpcError`. Never unhandled. */
  readonly response: Promise<Res>;
}

/** The handle of a call; `status`, `headers`, `cancel` and `metrics` are made when first read. */
class Handle<Req, Res> {
  readonly #call: ClientCall<Req, Res>;
  #cancel: ((reason?: unknown) => void) | undefined;
  #metrics: (() => CallMetrics) | undefined;

  constructor(call: ClientCall<Req, Res>) {
    this.#call = call;
  }

  /** A function of its own (`const { cancel } = client.bidiCall(...)` works), made when first read. */
  get cancel(): (reason?: unknown) => void {
    const call = this.#call;
    this.#cancel ??= (reason?: unknown) => call.cancel(reason);
    return this.#cancel;
  }

  get status(): Promise<H2CallStatus> {
    return this.#call.status.promise;
  }

  get headers(): Promise<MetadataMap> {
    return this.#call.headers.promise;
  }

  /** A function of its own too (`const { metrics } = ...`), made when first read. */
  get metrics(): () => CallMetrics {
    const call = this.#call;
    this.#metrics ??= () => call.metrics();
    return this.#metrics;
  }
}

/**
 * A client of one target over `node:http2`. Calls take the method definitions of the services users
 * already have (ts-proto's `MessageServiceService.streamMessages`, proto-loader's), and the handles
 * and options of the grpc-js helpers.
 *
 * @example
 * ```ts
 * import { connect } from "grpc-mpsc/h2";
 * import { MessageServiceService } from "./generated/messages.js";
 *
 * const client = connect("127.0.0.1:50051");
 * const { tx, rx } = client.bidiCall(MessageServiceService.streamMessages);
 * await tx.send({ name: "world" });
 * tx.close();
 * for await (const res of rx) console.log(res.message);
 * client.close();
 * ```
 */
export class H2Client {
  readonly #limits: ClientLimits;

  /** Use {@link connect}. */
  constructor(target: string, options?: H2ClientOptions) {
    if (typeof target !== "string" || target === "") {
      throw invalid("target", "a host:port such as 127.0.0.1:50051 or an http(s):// URL", target);
    }
    const tls = options?.tls;
    if (tls !== undefined && (typeof tls !== "object" || tls === null))
      throw invalidType("tls", "an object", tls);
    if (tls !== undefined && target.startsWith("http://")) {
      throw invalid("target", "not an http:// URL when `tls` is given (use https:// or host:port)", target);
    }
    const authority = authorityOf(target, tls === undefined ? "http" : "https");
    const compression = options?.compression ?? "identity";
    if (compression !== "identity" && compression !== "gzip") {
      throw invalid("compression", '"identity" or "gzip"', compression);
    }
    this.#limits = {
      peer: authority.replace(/^https?:\/\//, ""),
      pool: new SessionPool(authority, {
        backoff: options?.backoff,
        tls,
        keepalive: clientKeepalive(options?.keepalive, "keepalive"),
        maxSessionMemory:
          options?.maxSessionMemory === undefined
            ? undefined
            : positiveInteger(options.maxSessionMemory, "maxSessionMemory", 2 ** 31 - 1),
        initialWindowSize: windowOption(options?.initialWindowSize, "initialWindowSize"),
        connectionWindowSize: windowOption(options?.connectionWindowSize, "connectionWindowSize"),
      }),
      maxReceive: sizeOption(options?.maxReceiveMessageLength, "maxReceiveMessageLength"),
      maxSend: sizeOption(options?.maxSendMessageLength, "maxSendMessageLength"),
      encoding: compression,
    };
  }

  /** Opens a bidirectional-streaming call. */
  bidiCall<Req, Res>(method: MethodDefinition<Req, Res>, options?: H2CallOptions): H2BidiCall<Req, Res> {
    checkMethod(method, true, true);
    const call = new Call<Req, Res>(method, options, this.#limits);
    const handle = new Handle(call) as Handle<Req, Res> & { tx: Sender<Req>; rx: Receiver<Res> };
    Object.assign(handle, { tx: call.tx(), rx: call.rx });
    return handle;
  }

  /** Opens a server-streaming call with `request`. */
  serverStreamCall<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    options?: H2CallOptions,
  ): H2ServerStreamCall<Res> {
    checkMethod(method, false, true);
    const call = new Call<Req, Res>(method, options, this.#limits);
    sendOne(call, request);
    return Object.assign(new Handle(call), { rx: call.rx });
  }

  /** Opens a client-streaming call; `response` is the server's one answer. */
  clientStreamCall<Req, Res>(
    method: MethodDefinition<Req, Res>,
    options?: H2CallOptions,
  ): H2ClientStreamCall<Req, Res> {
    checkMethod(method, true, false);
    const call = new Call<Req, Res>(method, options, this.#limits);
    return Object.assign(new Handle(call), { tx: call.tx(), response: single(call) });
  }

  /** Makes a unary call. */
  unaryCall<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    options?: H2CallOptions,
  ): H2UnaryCall<Res> {
    checkMethod(method, false, false);
    const call = new Call<Req, Res>(method, options, this.#limits);
    sendOne(call, request);
    return Object.assign(new Handle(call), { response: single(call) });
  }

  /** Closes the connection: calls in progress end `UNAVAILABLE`, later calls fail at once. */
  close(): void {
    this.#limits.pool.close();
  }
}

/** The call and the name of each streaming kind, by `requestStream` and `responseStream`. */
const KINDS: Record<string, readonly [call: string, kind: string]> = {
  "false,false": ["unaryCall", "unary"],
  "false,true": ["serverStreamCall", "server-streaming"],
  "true,false": ["clientStreamCall", "client-streaming"],
  "true,true": ["bidiCall", "bidirectional-streaming"],
};

/**
 * Throws a TypeError for what is not a method definition, or one of another streaming kind than the
 * call made (which would fail only once the server answered, or not at all).
 */
function checkMethod(method: unknown, requestStream: boolean, responseStream: boolean): void {
  if (!isMethodDefinition(method, "client")) {
    throw invalidType("method", "a method definition such as MessageServiceService.streamMessages", method);
  }
  const path = field(method, "path") as string;
  const sends = field(method, "requestStream") === true;
  const streams = field(method, "responseStream") === true;
  if (sends !== requestStream || streams !== responseStream) {
    const [made] = KINDS[`${requestStream},${responseStream}`] ?? [];
    const [right, kind] = KINDS[`${sends},${streams}`] ?? [];
    throw new TypeError(`${made}: ${path} is a ${kind} method: call it with ${right}`);
  }
}

/**
 * The `http(s)://host:port` of a target: `host:port` (the port required, as grpc-js's default of 443
 * would surprise on cleartext), or an http:// or https:// URL without a path. Other schemes (grpc-js's
 * `dns:`, `unix:`, ...) are refused by name: this transport connects to one host and port.
 */
function authorityOf(target: string, scheme: "http" | "https"): string {
  const bad = (why: string): RangeError =>
    new RangeError(
      `${invalid("target", "a host:port such as 127.0.0.1:50051 or an http(s):// URL", target).message}: ${why}`,
    );
  const isUrl = /^https?:\/\//.test(target);
  if (!isUrl && /^[a-z][a-z0-9+.-]*:(?!\d+$)/i.test(target) && !target.startsWith("[")) {
    throw bad(`the ${target.slice(0, target.indexOf(":") + 1)} scheme is not supported here`);
  }
  const authority = isUrl ? target : `${scheme}://${target}`;
  let url: URL;
  try {
    url = new URL(authority);
  } catch {
    const port = /:(\d+)$/.exec(target)?.[1];
    throw bad(
      port !== undefined && Number(port) > 65_535 ? `port ${port} is over 65535` : "it does not parse",
    );
  }
  if (url.hostname === "") throw bad("it has no host");
  if (!isUrl && url.port === "" && !/:(80|443)$/.test(target)) throw bad("it has no port");
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || url.username !== "") {
    throw bad("a path, query or credentials are not part of a target");
  }
  return `${url.protocol}//${url.host}`;
}

/**
 * A client of `target` (`host:port`, or an `http://` / `https://` URL); see {@link H2Client}. No
 * connection is made until the first call.
 *
 * @throws RangeError for a target without a host or port, with a path, or of another scheme (grpc-js's
 * `dns:` and `unix:` are not supported here), and for a bad option, naming it.
 */
export function connect(target: string, options?: H2ClientOptions): H2Client {
  return new H2Client(target, options);
}

/** Sends the one request of a unary or server-streaming call and half-closes. */
function sendOne<Req, Res>(call: ClientCall<Req, Res>, request: Req): void {
  const tx = call.tx();
  try {
    tx.trySend(request);
  } catch (error) {
    call.cancelWith(statusError(Code.CANCELLED, "the request could not be sent", error));
  }
  tx.close();
}

/** The one response of a unary or client-streaming call. */
function single<Req, Res>(call: ClientCall<Req, Res>): Promise<Res> {
  const response = new Later<Res>();
  const rx = call.rx;
  void (async () => {
    try {
      const first = await rx.recv();
      if (first === undefined) {
        response.reject(statusError(Code.INTERNAL, "the server ended the call OK without a response"));
        return;
      }
      if ((await rx.recv()) !== undefined) {
        const error = statusError(Code.INTERNAL, "the server sent more than one response");
        call.cancelWith(error);
        response.reject(error);
        return;
      }
      response.resolve(first);
    } catch (error) {
      response.reject(error);
    }
  })();
  return response.promise;
}

function sizeOption(value: number | undefined, name: string): number {
  return value === undefined ? DEFAULT_MAX_MESSAGE : positiveInteger(value, name, 2 ** 32 - 1);
}
