/**
 * One HTTP/2 session per target, made when a call needs it and made again, with exponential backoff,
 * after it fails or goes away: gRPC's connectivity states in miniature (idle, connecting, ready,
 * transient failure).
 *
 * @internal
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as connectHttp2,
  constants,
  type SecureClientSessionOptions,
} from "node:http2";
import type { Socket } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { invalid, invalidType } from "../channel/index.js";
import { Code } from "../grpc/codes.js";
import { type GrpcError, messageOf, statusError } from "../grpc/grpc-error.js";
import { field } from "../grpc/hostile.js";
import { keepAlive, OpenCalls, type PingPlan } from "./keepalive.js";
import { LONGEST_TIMER } from "./timeout.js";

/** A backoff field: its default when unset, else a number in range (a RangeError naming it). */
function backoffOption(
  value: unknown,
  fallback: number,
  name: string,
  min: number,
  max: number,
  range: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= min && value <= max)) {
    throw invalid(
      `backoff.${name}`,
      `a number ${range}${max === LONGEST_TIMER ? " to 2^31 - 1 ms" : ""}`,
      value,
    );
  }
  return value;
}

/** A stream a server pushed despite SETTINGS_ENABLE_PUSH 0: reset at once, its errors heard. */
function refusePush(stream: ClientHttp2Stream): void {
  stream.on("error", () => {});
  stream.close(constants.NGHTTP2_REFUSED_STREAM);
}

/** OpenSSL's codes for bytes that are no TLS record: what a cleartext server's answer reads as. */
const NOT_TLS: ReadonlySet<unknown> = new Set([
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_PACKET_LENGTH_TOO_LONG",
]);

/**
 * Reconnect backoff, as gRPC's `connection-backoff.md` (its defaults are 1 s, 1.6, 120 s, 0.2).
 * `connect` throws a RangeError naming a field out of its range.
 */
export interface Backoff {
  /** The first wait after a failed connect, in ms (default 1000, or `maxMs` if less; from 1 to `maxMs`). */
  initialMs?: number;
  /** Each wait is the last times this (default 1.6; from 1 to 1000). */
  multiplier?: number;
  /** The longest wait, in ms (default 120000, or `initialMs` if more; from 1 to 2^31 - 1). */
  maxMs?: number;
  /** Each wait is randomised by up to this fraction either way (default 0.2; from 0 to 1). */
  jitter?: number;
}

/**
 * TLS of a client ({@link H2ClientOptions.tls}): the CA to trust (default Node's roots), and a
 * certificate and key for mutual TLS. ALPN is always `h2`.
 */
export type ClientTls = Pick<
  ConnectionOptions,
  | "ca"
  | "cert"
  | "key"
  | "pfx"
  | "passphrase"
  | "servername"
  | "rejectUnauthorized"
  | "checkServerIdentity"
  | "minVersion"
>;

/** How the sessions of a target are made. */
export interface SessionSetup {
  readonly backoff: Backoff | undefined;
  readonly tls: ClientTls | undefined;
  readonly keepalive: PingPlan | undefined;
  readonly maxSessionMemory: number | undefined;
  readonly initialWindowSize: number | undefined;
  readonly connectionWindowSize: number | undefined;
}

/** A call waiting for a ready session. */
export interface SessionWaiter {
  /** The session is ready. */
  ready(session: ClientHttp2Session): void;
  /** A connect failed and this call asked not to wait (`waitForReady: false`), or the client closed. */
  failed(error: GrpcError): void;
  /** Whether it gives up at the first failed connect. */
  readonly failFast: boolean;
}

/** The session of one target. */
export class SessionPool {
  readonly #authority: string;
  readonly #backoff: Required<Backoff>;
  readonly #setup: SessionSetup;
  /** The calls open on each session, for keepalive (counted only when it pings). */
  readonly #calls = new WeakMap<object, OpenCalls>();
  #session: ClientHttp2Session | undefined;
  #ready = false;
  #waiters = new Set<SessionWaiter>();
  #nextWait: number;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  /** Why the last connect failed, while no session has been ready since. */
  #lastFailure: GrpcError | undefined;
  /** Sessions still carrying calls after a GOAWAY (closed once those end). */
  readonly #draining = new Set<ClientHttp2Session>();

  constructor(authority: string, setup: SessionSetup) {
    const backoff = setup.backoff;
    this.#authority = authority;
    this.#setup = setup;
    if (backoff !== undefined && (typeof backoff !== "object" || backoff === null)) {
      throw invalidType("backoff", "an object", backoff);
    }
    // Either bound alone moves the other's default: `{ maxMs: 500 }` starts at 500, not 1000.
    const maxGiven =
      backoff?.maxMs === undefined
        ? undefined
        : backoffOption(backoff.maxMs, 0, "maxMs", 1, LONGEST_TIMER, "from 1");
    const initialMs = backoffOption(
      backoff?.initialMs,
      Math.min(1000, maxGiven ?? 1000),
      "initialMs",
      1,
      maxGiven ?? LONGEST_TIMER,
      maxGiven === undefined ? "from 1" : "from 1 to maxMs",
    );
    this.#backoff = {
      initialMs,
      multiplier: backoffOption(backoff?.multiplier, 1.6, "multiplier", 1, 1000, "from 1 to 1000"),
      maxMs: maxGiven ?? Math.max(120_000, initialMs),
      jitter: backoffOption(backoff?.jitter, 0.2, "jitter", 0, 1, "from 0 to 1"),
    };
    this.#nextWait = this.#backoff.initialMs;
  }

  /** Hands `waiter` a ready session now or once there is one; returns how to stop waiting. */
  acquire(waiter: SessionWaiter): () => void {
    if (this.#closed) {
      waiter.failed(statusError(Code.UNAVAILABLE, "the client was closed"));
      return noop;
    }
    const session = this.#session;
    if (session !== undefined && this.#ready && !session.closed && !session.destroyed) {
      waiter.ready(session);
      return noop;
    }
    this.#waiters.add(waiter);
    if (this.#session === undefined && this.#retry === undefined) this.#connect();
    return () => this.#waiters.delete(waiter);
  }

  /**
   * The DEADLINE_EXCEEDED of a call whose deadline passed while it waited for a ready session: it
   * carries why the last connect failed (as its details and `cause`), the error the call would have
   * had at once with `waitForReady: false`.
   */
  deadlineWhileConnecting(): GrpcError {
    const failure = this.#lastFailure;
    return failure === undefined
      ? statusError(Code.DEADLINE_EXCEEDED, `the deadline passed while connecting to ${this.#authority}`)
      : statusError(
          Code.DEADLINE_EXCEEDED,
          `the deadline passed while connecting: ${failure.details}`,
          failure,
        );
  }

  /** Counts `stream`, a call opened on a session of this pool, until it closes (for keepalive). */
  opened(stream: ClientHttp2Stream): void {
    if (stream.session !== undefined) this.#calls.get(stream.session)?.opened(stream);
  }

  /** Whether {@link close} was called (a call it ended says so, not that the connection was lost). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes every session (calls in progress end UNAVAILABLE) and fails every waiting call. */
  close(): void {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#session?.destroy();
    for (const s of this.#draining) s.destroy();
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w.failed(statusError(Code.UNAVAILABLE, "the client was closed"));
  }

  #connect(): void {
    this.#retry = undefined;
    const { tls, keepalive, maxSessionMemory, initialWindowSize, connectionWindowSize } = this.#setup;
    const options: SecureClientSessionOptions = { ...tls, ALPNProtocols: ["h2"] };
    // Unset, no limit (as grpc-js's client): past Node's default of 10 MiB, nghttp2 resets the calls
    // whose responses arrive (ENHANCE_YOUR_CALM), which 1,000 busy streams on one connection reach.
    options.maxSessionMemory = maxSessionMemory ?? Number.MAX_SAFE_INTEGER;
    // gRPC has no server push: SETTINGS_ENABLE_PUSH 0 refuses it, and a server that pushes anyway
    // gets its streams reset (Node would otherwise give each an 'error' nobody listens to).
    options.settings =
      initialWindowSize === undefined ? { enablePush: false } : { enablePush: false, initialWindowSize };
    const session = connectHttp2(this.#authority, options);
    session.on("stream", refusePush);
    if (connectionWindowSize !== undefined) {
      // Node emits 'connect' on a session destroyed while its socket connected (a client closed
      // meanwhile), where setLocalWindowSize throws, out of any caller's reach.
      session.once("connect", () => {
        if (!session.destroyed) session.setLocalWindowSize(connectionWindowSize);
      });
    }
    this.#session = session;
    this.#ready = false;
    let failure: unknown;
    session.on("error", (error) => {
      failure = error;
    });
    if (keepalive !== undefined) {
      const calls = new OpenCalls();
      this.#calls.set(session, calls);
      keepAlive(
        session,
        keepalive,
        calls,
        (ms) => new Error(`the server did not answer a keepalive PING within ${ms} ms`),
      );
    }
    // Ready once the server's SETTINGS are in: a call opened before them is refused (REFUSED_STREAM)
    // when it goes past the server's SETTINGS_MAX_CONCURRENT_STREAMS; after them, Node queues it
    // until a stream ends.
    /** The server spoke HTTP/2 (its SETTINGS or a GOAWAY came). */
    let heard = false;
    session.once("remoteSettings", () => {
      heard = true;
      if (this.#session !== session) return;
      this.#ready = true;
      this.#lastFailure = undefined;
      this.#nextWait = this.#backoff.initialMs;
      const waiters = [...this.#waiters];
      this.#waiters.clear();
      for (const w of waiters) w.ready(session);
    });
    session.on("goaway", () => {
      heard = true;
      this.#retire(session);
    });
    /** The connection, once TCP (and TLS) connected. */
    let socket: Socket | undefined;
    let gone = false;
    const onGone = (): void => {
      if (gone) return;
      gone = true;
      this.#draining.delete(session);
      const wasReady = this.#ready && this.#session === session;
      this.#retire(session);
      if (this.#session !== undefined) return;
      if (!wasReady) this.#failed(failure, heard ? undefined : socket?.bytesRead);
      else if (this.#waiters.size > 0) this.#connect();
    };
    session.once("close", onGone);
    // A TLS server that refuses the client's certificate does so after the handshake (TLS 1.3): the
    // socket errors, and the session is destroyed with neither an 'error' nor a 'close' of its own
    // (seen on Node 20 and 24), so the socket's error is what tells.
    session.once("connect", (_session: ClientHttp2Session, connected: Socket) => {
      socket = connected;
      connected.once("error", (error: Error) => {
        failure ??= error;
        session.destroy();
        onGone();
      });
      connected.once("close", onGone);
    });
  }

  /**
   * What a failed connect says. A cleartext client on a TLS port sees no error: a TLS server (Node's,
   * grpc-js's) closes the connection without a byte when the client's preface is not a TLS record,
   * and a server that answers in another protocol (a TLS alert, HTTP/1.1) sends bytes that nghttp2
   * refuses before any SETTINGS: both are worth a hint on a cleartext target.
   */
  #why(cause: unknown, unheard: number | undefined): string {
    const said = cause === undefined ? undefined : messageOf(cause);
    // A TLS client of a cleartext server reads its HTTP/2 answer as a TLS record of no known version.
    if (this.#authority.startsWith("https://") && said !== undefined && NOT_TLS.has(field(cause, "code"))) {
      return `${said.trim()}: if the server speaks cleartext HTTP/2, use an http:// target and no \`tls\` option`;
    }
    if (unheard === undefined || !this.#authority.startsWith("http://")) {
      return said ?? "the connection closed";
    }
    const hint = "if it expects TLS, use an https:// target or the `tls` option";
    if (unheard > 0) {
      return `the server answered with ${unheard} bytes that are not HTTP/2 (${said ?? "then closed"}): ${hint}`;
    }
    return said ?? `the server closed the connection without a word: ${hint}`;
  }

  /** `session` takes no new calls (GOAWAY, or closed): the next call connects again. */
  #retire(session: ClientHttp2Session): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    this.#ready = false;
    if (!session.closed && !session.destroyed) {
      this.#draining.add(session);
      session.close(); // ends once its calls are done
    }
  }

  /**
   * A connect failed: fail-fast calls fail now, the others wait for the next try. `unheard` counts
   * the bytes a server that connected but never spoke HTTP/2 sent (undefined: it did not connect, or
   * it spoke HTTP/2).
   */
  #failed(cause: unknown, unheard: number | undefined): void {
    const error = statusError(
      Code.UNAVAILABLE,
      `could not connect to ${this.#authority}: ${this.#why(cause, unheard)}`,
      cause,
    );
    this.#lastFailure = error;
    for (const w of [...this.#waiters]) {
      if (w.failFast) {
        this.#waiters.delete(w);
        w.failed(error);
      }
    }
    if (this.#waiters.size === 0 || this.#closed) return;
    const { multiplier, maxMs, jitter } = this.#backoff;
    const wait = this.#nextWait * (1 + jitter * (Math.random() * 2 - 1));
    this.#nextWait = Math.min(this.#nextWait * multiplier, maxMs);
    this.#retry = setTimeout(() => this.#connect(), wait);
  }
}

function noop(): void {}
