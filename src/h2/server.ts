/**
 * The h2 server: gRPC over `node:http2` without grpc-js, serving the service definitions users
 * already have with handlers of the grpc-js wrappers' shapes.
 *
 * @module
 */
import {
  createServer as createHttp2Server,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  type Settings,
} from "node:http2";
import type { Socket } from "node:net";
import type { TlsOptions } from "node:tls";
import { integerFrom, invalid, invalidType, positiveInteger } from "../channel/index.js";
import { Code } from "../grpc/codes.js";
import { statusError } from "../grpc/grpc-error.js";
import { field } from "../grpc/hostile.js";
import { capacityOption, windowOption } from "../grpc/options.js";
import { ACCEPT_ENCODING, isSupportedEncoding } from "./compression.js";
import type { H2ServerContext } from "./context.js";
import {
  type HandlersFor,
  isMethodDefinition,
  type MethodDefinition,
  type ServiceDefinition,
} from "./definition.js";
import { DEFAULT_MAX_MESSAGE } from "./framing.js";
import {
  keepAlive,
  OpenCalls,
  PingStrikes,
  type ServerKeepalive,
  type ServerPolicy,
  serverKeepalive,
  tooManyPings,
} from "./keepalive.js";
import { BadMetadataError, metadataFromHeaders, WireMetadata } from "./metadata.js";
import { closeAfterStatus } from "./reset.js";
import { type AnyHandler, type CallLimits, type CallRegistry, ServerCall } from "./server-call.js";
import { encodeMessage, isGrpcContentType } from "./status-headers.js";
import { ignoreError, setCall } from "./stream-call.js";
import { after, parseTimeout } from "./timeout.js";

/**
 * The least `shutdown` waits, once every call has its status, for clients to close their connections
 * before it destroys the ones still open (it waits for the rest of the grace if that is longer).
 */
const LAST_WORD_MS = 1000;

/** Options of {@link createServer}. */
export interface H2ServerOptions {
  /** Capacity of each handler's `requests` receiver (default 16). */
  requestCapacity?: number;
  /** How many responses may be queued for the next write before `responses.send` waits (default 16). */
  responseCapacity?: number;
  /** The largest message received, in bytes (default 4 MiB); a larger one ends the call RESOURCE_EXHAUSTED. */
  maxReceiveMessageLength?: number;
  /** The largest message sent, in bytes (default 4 MiB); a larger one ends the call RESOURCE_EXHAUSTED. */
  maxSendMessageLength?: number;
  /**
   * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection (default Node's: unlimited). The h2 client
   * queues its calls past it; other clients may be refused a stream (REFUSED_STREAM, which gRPC
   * clients retry).
   */
  maxConcurrentStreams?: number;
  /**
   * The most memory one connection may use, in MiB (Node's `maxSessionMemory`, default 10): past it,
   * new streams are refused (a flood of open streams is held to it).
   */
  maxSessionMemory?: number;
  /**
   * Each call's HTTP/2 flow-control window for what the client sends, in bytes
   * (SETTINGS_INITIAL_WINDOW_SIZE, default 65535, from 1 to 2147483647): how much a handler that does not read takes off
   * the client before it holds. Memory: a call whose handler falls behind holds up to this many bytes
   * beyond its `requestCapacity` messages; a larger window streams faster over a link with latency
   * (about one window per round trip). See docs/h2.md, "Flow-control windows".
   */
  initialWindowSize?: number;
  /**
   * Each connection's HTTP/2 flow-control window for what the client sends, in bytes (default 65535,
   * HTTP/2's, from 1 to 2147483647): how much all its calls together take off the client before it holds, raised with a
   * WINDOW_UPDATE as the connection opens. Set it past `initialWindowSize` for several calls to stream
   * at their windows at once.
   */
  connectionWindowSize?: number;
  /**
   * Serves TLS (ALPN `h2` only) with these: `key` and `cert` (or `pfx`), and for mutual TLS `ca`
   * with `requestCert: true` (and `rejectUnauthorized`, default true once a certificate is requested).
   * Without it the server speaks cleartext HTTP/2 (h2c).
   */
  tls?: ServerTls;
  /** Keepalive: the server's own PINGs, and how often a client may ping (gRPC's enforcement). */
  keepalive?: ServerKeepalive;
  /**
   * Sees what the client is not told: errors a handler throws that are not a `GrpcError` of its own
   * making (the client gets `UNKNOWN` "internal error"), and refused sends nobody awaited (once per
   * call: the refusals of its first such turn, as one `SendError` with their count). Default:
   * `console.error` with the method and the error, stack and `cause` included.
   */
  onError?: (error: unknown, ctx: H2ServerContext) => void;
}

/** TLS of a server ({@link H2ServerOptions.tls}). */
export type ServerTls = Pick<
  TlsOptions,
  | "key"
  | "cert"
  | "pfx"
  | "passphrase"
  | "ca"
  | "requestCert"
  | "rejectUnauthorized"
  | "minVersion"
  | "ciphers"
  | "sessionTimeout"
>;

/**
 * The methods of a service definition by name; a TypeError that says what was given instead, for
 * the mistakes a reviewer made: one method of the service, a generated client class.
 */
function serviceMethods(service: unknown): [string, MethodDefinition<unknown, unknown>][] {
  const expected = "a service definition, its methods by name (such as ts-proto's MessageServiceService)";
  if (typeof service === "function") {
    throw new TypeError(`Expected \`service\` to be ${expected}, got a function: a generated client class?`);
  }
  if (typeof service !== "object" || service === null) throw invalidType("service", expected, service);
  if (typeof field(service, "path") === "string") {
    throw new TypeError(
      `Expected \`service\` to be ${expected}, got one method (${String(field(service, "path"))}): pass the service that holds it`,
    );
  }
  const methods: [string, MethodDefinition<unknown, unknown>][] = [];
  for (const name of Object.keys(service)) {
    const method = field(service, name);
    if (!isMethodDefinition(method, "server")) {
      throw new TypeError(
        `Expected \`service\` to be ${expected}: its \`${name}\` is not a method definition (a path and serializers)`,
      );
    }
    methods.push([name, method as MethodDefinition<unknown, unknown>]);
  }
  return methods;
}

/** The keys of a `tls` option that say who the server is, for an error message. */
function describeKeys(tls: ServerTls): string {
  const given = (["key", "cert", "pfx"] as const).filter((k) => tls[k] !== undefined);
  return given.length === 0 ? "none of them" : `only \`${given.join("`, `")}\``;
}

/** A method and its handler, as the server looks them up by path. */
interface Route {
  readonly method: MethodDefinition<unknown, unknown>;
  readonly handler: AnyHandler;
}

/**
 * A gRPC server on `node:http2` (cleartext HTTP/2, or TLS with the `tls` option). Add services, `listen`, and `shutdown` when done.
 *
 * @example
 * ```ts
 * import { createServer } from "grpc-mpsc/h2";
 * import { MessageServiceService } from "./generated/messages.js";
 *
 * const server = createServer();
 * server.addService(MessageServiceService, {
 *   streamMessages: async (requests, responses) => {
 *     for await (const req of requests) await responses.send({ message: `Hello, ${req.name}!` });
 *   },
 * });
 * const port = await server.listen(50051);
 * ```
 */
export class H2Server {
  readonly #http2: Http2Server | Http2SecureServer;
  readonly #routes = new Map<string, Route>();
  readonly #limits: CallLimits;
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #calls = new Set<ServerCall>();
  /** Every TCP connection, until it closes (a shutdown destroys those that will not). */
  readonly #sockets = new Set<Socket>();
  #shuttingDown = false;

  /** Use {@link createServer}. */
  constructor(options?: H2ServerOptions) {
    this.#limits = {
      requestCapacity: capacityOption(options?.requestCapacity, "requestCapacity"),
      responseCapacity: capacityOption(options?.responseCapacity, "responseCapacity"),
      maxReceive: sizeOption(options?.maxReceiveMessageLength, "maxReceiveMessageLength"),
      maxSend: sizeOption(options?.maxSendMessageLength, "maxSendMessageLength"),
      onError: options?.onError,
    };
    const settings: Settings = {};
    if (options?.maxConcurrentStreams !== undefined) {
      settings.maxConcurrentStreams = positiveInteger(options.maxConcurrentStreams, "maxConcurrentStreams");
    }
    const initialWindowSize = windowOption(options?.initialWindowSize, "initialWindowSize");
    if (initialWindowSize !== undefined) settings.initialWindowSize = initialWindowSize;
    const connectionWindow = windowOption(options?.connectionWindowSize, "connectionWindowSize");
    const maxSessionMemory =
      options?.maxSessionMemory === undefined
        ? undefined
        : positiveInteger(options.maxSessionMemory, "maxSessionMemory", 2 ** 31 - 1);
    const tls = options?.tls;
    if (tls !== undefined && (typeof tls !== "object" || tls === null))
      throw invalidType("tls", "an object", tls);
    // Node takes a TLS server without a certificate and fails every handshake with a bare alert.
    if (tls !== undefined && tls.pfx === undefined && (tls.key === undefined || tls.cert === undefined))
      throw new TypeError(
        `Expected \`tls\` to hold \`key\` and \`cert\`, or \`pfx\`: it has ${describeKeys(tls)}; without a certificate every handshake fails`,
      );
    const http2Options = maxSessionMemory === undefined ? { settings } : { settings, maxSessionMemory };
    this.#http2 =
      tls === undefined
        ? createHttp2Server(http2Options)
        : createSecureServer({ ...tls, ...http2Options, allowHTTP1: false, ALPNProtocols: ["h2"] });
    const policy = serverKeepalive(options?.keepalive, "keepalive");
    this.#http2.on("session", (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      if (connectionWindow !== undefined) session.setLocalWindowSize(connectionWindow);
      session.on("error", () => {}); // the streams' 'close' tells their calls
      session.on("close", () => this.#sessions.delete(session));
      watchPings(session, policy);
      if (this.#shuttingDown) session.close();
    });
    // A TLS handshake that fails (no certificate, a wrong one) is the client's to see; the server goes on.
    this.#http2.on("tlsClientError", () => {});
    this.#http2.on("stream", this.#onStream);
    this.#http2.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
  }

  /**
   * Serves `service` with `handlers`: one per method name, of the shape its streaming kind takes
   * (see {@link HandlersFor}).
   *
   * @throws TypeError for what is not a service definition (one method of it, a client class), a
   * missing handler or a path served already; the service is then not added, none of its methods.
   */
  addService<S extends ServiceDefinition>(service: S, handlers: HandlersFor<S>): this {
    const routes = new Map<string, Route>();
    for (const [name, method] of serviceMethods(service)) {
      const handler = field(handlers, name);
      if (typeof handler !== "function") throw invalidType(`handler ${name}`, "a function", handler);
      if (this.#routes.has(method.path) || routes.has(method.path))
        throw invalidType(`method ${name}`, "a path not served yet", method.path);
      routes.set(method.path, { method, handler: handler as AnyHandler });
    }
    for (const [path, route] of routes) this.#routes.set(path, route);
    return this;
  }

  /**
   * Listens on `port` (0: any free one) at `host` (default `127.0.0.1`).
   *
   * @returns the port bound; rejects with a RangeError for a port that is not an integer from 0 to
   * 65535 (an address string such as grpc-js's `"127.0.0.1:50051"` included: the host is the second
   * argument), a TypeError for a host that is not a string, an Error after `shutdown` or
   * `forceShutdown` (the server refuses every call then: make a new one), or the listen error
   * (EADDRINUSE, ...).
   */
  listen(port: number, host = "127.0.0.1"): Promise<number> {
    try {
      integerFrom(port, "port", 0, 65_535);
      if (typeof host !== "string") throw invalidType("host", "a string", host);
      if (this.#shuttingDown) throw new Error("listen called after shutdown: create a new server");
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const settle = (): boolean => {
        this.#http2.removeListener("error", onError);
        return this.#unbound.delete(unbound);
      };
      const onError = (error: Error): void => {
        if (settle()) reject(error);
      };
      // A shutdown before the port is bound: Node never calls back then.
      const unbound = (): void => {
        if (settle()) reject(new Error("the server was shut down before it was listening"));
      };
      this.#unbound.add(unbound);
      this.#http2.once("error", onError);
      try {
        this.#http2.listen(port, host, () => {
          if (!settle()) return;
          const address = this.#http2.address();
          resolve(typeof address === "object" && address !== null ? address.port : port);
        });
      } catch (error) {
        settle(); // listening already (ERR_SERVER_ALREADY_LISTEN), thrown at once
        reject(error);
      }
    });
  }

  /**
   * Stops taking connections, tells every client to go away (GOAWAY: no new calls), lets the calls
   * in progress run for `graceMs` (default 5000), then ends those left with `UNAVAILABLE` (their
   * handlers' `ctx.signal` aborts) and closes every connection; `shutdown(0)` ends them at once,
   * `shutdown(Infinity)` waits as long as they run. A connection still open at the end of the grace,
   * and at least a second after the last statuses went (a client that died, or stopped reading), is
   * destroyed. Called again while one runs (a second Ctrl-C),
   * the shorter grace ends the calls, and every `shutdown` resolves then.
   *
   * @returns resolves once every connection is closed; rejects with a RangeError for a `graceMs`
   * that is negative or not a number.
   */
  async shutdown(graceMs = 5000): Promise<void> {
    if (typeof graceMs !== "number" || !(graceMs >= 0)) {
      throw invalid("graceMs", "a number of milliseconds from 0 (Infinity: as long as calls run)", graceMs);
    }
    this.#shuttingDown = true;
    for (const unbound of [...this.#unbound]) unbound();
    const graceEnds = Date.now() + graceMs;
    const closed = new Promise<void>((resolve) => this.#http2.close(() => resolve()));
    for (const s of this.#sessions) s.close();
    if (this.#calls.size > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stop();
          this.#idle.delete(done);
          resolve();
        };
        const stop = after(graceMs, done);
        this.#idle.add(done);
      });
    }
    for (const call of [...this.#calls]) {
      call.endWith(statusError(Code.UNAVAILABLE, "the server is shutting down"), true);
    }
    this.#graceOver = true;
    for (const stream of this.#answered) closeAfterStatus(stream);
    // A client that has died, or stopped reading its socket, never closes its side, which would hold
    // the server's close for ever: what is still open at the end of the grace, and at least a moment
    // after the last statuses went, is destroyed. A client still reading what its finished calls were
    // sent has the rest of the grace for it.
    let stop = (): void => {};
    const late = await Promise.race([
      closed.then(() => false),
      new Promise<boolean>((resolve) => {
        stop = after(Math.max(graceEnds - Date.now(), LAST_WORD_MS), () => resolve(true));
      }),
    ]);
    stop();
    if (late) {
      for (const s of this.#sessions) s.destroy();
      // A session Node closed (its GOAWAY and FIN out) may leave its socket waiting for the peer's FIN.
      for (const socket of this.#sockets) socket.destroy();
    }
    await closed;
  }

  /** Closes every connection now: calls in progress end, their clients see the connection drop. */
  forceShutdown(): void {
    this.#shuttingDown = true;
    for (const unbound of [...this.#unbound]) unbound();
    this.#http2.close();
    for (const call of [...this.#calls]) {
      call.endWith(statusError(Code.UNAVAILABLE, "the server was shut down"), true);
    }
    for (const s of this.#sessions) s.destroy();
  }

  /** Each rejects a `listen` in progress (a shutdown came before its port was bound). */
  readonly #unbound = new Set<() => void>();

  /** Called when the last call ends during a shutdown: one for each `shutdown` still waiting. */
  readonly #idle = new Set<() => void>();

  /** Streams answered without a call (HTTP 405 or 415, trailers-only) whose client has not ended its side. */
  readonly #answered = new Set<ServerHttp2Stream>();
  /** Shutdown's grace is over: what is answered from now on closes at once. */
  #graceOver = false;

  /** A stream answered without a call: a client that never ends its side must not hold the shutdown. */
  #hold(stream: ServerHttp2Stream): void {
    if (stream.closed || stream.destroyed) return;
    if (this.#graceOver) {
      closeAfterStatus(stream);
      return;
    }
    const answered = this.#answered;
    answered.add(stream);
    setCall(stream, { streamClosed: () => answered.delete(stream) });
  }

  /** What each call tells the server: it ended. */
  readonly #registry: CallRegistry = {
    forget: (call: ServerCall): void => {
      this.#calls.delete(call);
      if (this.#calls.size === 0 && this.#idle.size > 0) for (const done of [...this.#idle]) done();
    },
  };

  #onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    stream.on("error", ignoreError);
    if (headers[":method"] !== "POST") {
      respondHttp(stream, 405);
      this.#hold(stream);
      return;
    }
    if (!isGrpcContentType(headers["content-type"])) {
      respondHttp(stream, 415);
      this.#hold(stream);
      return;
    }
    const path = headers[":path"] ?? "";
    const route = this.#routes.get(path);
    if (route === undefined) {
      trailersOnly(stream, Code.UNIMPLEMENTED, `the server does not serve ${path}`);
      this.#hold(stream);
      return;
    }
    if (this.#shuttingDown) {
      trailersOnly(stream, Code.UNAVAILABLE, "the server is shutting down");
      this.#hold(stream);
      return;
    }
    const encoding = headerText(headers["grpc-encoding"]) ?? "identity";
    if (!isSupportedEncoding(encoding)) {
      trailersOnly(stream, Code.UNIMPLEMENTED, `the server does not support grpc-encoding ${encoding}`);
      this.#hold(stream);
      return;
    }
    let deadline: number | undefined;
    const timeout = headerText(headers["grpc-timeout"]);
    if (timeout !== undefined) {
      const ms = parseTimeout(timeout);
      if (ms === undefined) {
        trailersOnly(stream, Code.INTERNAL, `grpc-timeout ${JSON.stringify(timeout)} is not a timeout`);
        this.#hold(stream);
        return;
      }
      deadline = Date.now() + ms;
    }
    let metadata: WireMetadata;
    try {
      metadata = metadataFromHeaders(headers, new WireMetadata());
    } catch (error) {
      const details = error instanceof BadMetadataError ? error.message : "the request metadata is malformed";
      trailersOnly(stream, Code.INTERNAL, details);
      this.#hold(stream);
      return;
    }
    const call = new ServerCall(stream, path, metadata, deadline, encoding, this.#limits, this.#registry);
    this.#calls.add(call);
    call.run(route.method, route.handler);
  };
}

/**
 * Counts the calls of `session`, sends its keepalive PINGs if the policy asks, and holds the client to
 * how often it may ping.
 */
function watchPings(session: ServerHttp2Session, policy: ServerPolicy): void {
  const calls = new OpenCalls();
  const strikes = new PingStrikes();
  session.on("stream", (stream: ServerHttp2Stream) => {
    calls.opened(stream);
    strikes.forgive();
  });
  session.on("ping", () => {
    if (strikes.ping(policy, calls.count)) tooManyPings(session);
  });
  if (policy.ping !== undefined) {
    keepAlive(
      session,
      policy.ping,
      calls,
      (ms) => new Error(`the client did not answer a keepalive PING within ${ms} ms`),
    );
  }
}

/**
 * A gRPC server on `node:http2`; see {@link H2Server}.
 *
 * @throws TypeError or RangeError for a bad option, naming it (a `tls` without `key` and `cert`, or
 * `pfx`, among them).
 */
export function createServer(options?: H2ServerOptions): H2Server {
  return new H2Server(options);
}

function sizeOption(value: number | undefined, name: string): number {
  return value === undefined ? DEFAULT_MAX_MESSAGE : positiveInteger(value, name, 2 ** 32 - 1);
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A response that is not gRPC's (wrong method or content type). */
function respondHttp(stream: ServerHttp2Stream, status: number): void {
  if (stream.destroyed) return;
  stream.respond({ ":status": status }, { endStream: true });
  dropTheRest(stream);
}

/** The status alone, in one HEADERS frame that ends the stream. */
function trailersOnly(stream: ServerHttp2Stream, code: number, details: string): void {
  if (stream.destroyed) return;
  stream.respond(
    {
      ":status": 200,
      "content-type": "application/grpc+proto",
      "grpc-status": String(code),
      "grpc-message": encodeMessage(details),
      "grpc-accept-encoding": ACCEPT_ENCODING,
    },
    { endStream: true },
  );
  dropTheRest(stream);
}

/**
 * After a response that ends the stream, what the client still sends is read and dropped, and the
 * stream closes when the client ends its side. Not a reset: nghttp2 may send a RST_STREAM queued right
 * after the HEADERS ahead of them (seen on Node 22), and the client then never reads the answer.
 */
function dropTheRest(stream: ServerHttp2Stream): void {
  if (!stream.readableEnded && !stream.destroyed) stream.resume();
}
