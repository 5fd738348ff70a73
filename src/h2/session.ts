/**
 * One HTTP/2 session per target, made when a call needs it and made again, with exponential backoff,
 * after it fails or goes away: gRPC's connectivity states in miniature (idle, connecting, ready,
 * transient failure).
 *
 * @internal
 */
import { type ClientHttp2Session, connect as connectHttp2 } from "node:http2";
import { Code } from "../grpc/codes.js";
import { type GrpcError, messageOf, statusError } from "../grpc/grpc-error.js";

/** Reconnect backoff, as gRPC's `connection-backoff.md` (its defaults are 1 s, 1.6, 120 s, 0.2). */
export interface Backoff {
  /** The first wait after a failed connect, in ms (default 1000). */
  initialMs?: number;
  /** Each wait is the last times this (default 1.6). */
  multiplier?: number;
  /** The longest wait, in ms (default 120000). */
  maxMs?: number;
  /** Each wait is randomised by up to this fraction either way (default 0.2). */
  jitter?: number;
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
  #session: ClientHttp2Session | undefined;
  #ready = false;
  #waiters = new Set<SessionWaiter>();
  #nextWait: number;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  /** Sessions still carrying calls after a GOAWAY (closed once those end). */
  readonly #draining = new Set<ClientHttp2Session>();

  constructor(authority: string, backoff: Backoff | undefined) {
    this.#authority = authority;
    this.#backoff = {
      initialMs: backoff?.initialMs ?? 1000,
      multiplier: backoff?.multiplier ?? 1.6,
      maxMs: backoff?.maxMs ?? 120_000,
      jitter: backoff?.jitter ?? 0.2,
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
    const session = connectHttp2(this.#authority);
    this.#session = session;
    this.#ready = false;
    let failure: unknown;
    session.on("error", (error) => {
      failure = error;
    });
    session.once("connect", () => {
      if (this.#session !== session) return;
      this.#ready = true;
      this.#nextWait = this.#backoff.initialMs;
      const waiters = [...this.#waiters];
      this.#waiters.clear();
      for (const w of waiters) w.ready(session);
    });
    session.on("goaway", () => this.#retire(session));
    session.once("close", () => {
      this.#draining.delete(session);
      const wasReady = this.#ready && this.#session === session;
      this.#retire(session);
      if (!wasReady && this.#session === undefined) this.#failed(failure);
      else if (this.#waiters.size > 0 && this.#session === undefined) this.#connect();
    });
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

  /** A connect failed: fail-fast calls fail now, the others wait for the next try. */
  #failed(cause: unknown): void {
    const error = statusError(
      Code.UNAVAILABLE,
      `could not connect to ${this.#authority}: ${cause === undefined ? "the connection closed" : messageOf(cause)}`,
      cause,
    );
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
