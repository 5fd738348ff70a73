/**
 * Server-wide settings and shutdown for streaming servers.
 *
 * @module
 */
import { type ChannelOptions, status } from "@grpc/grpc-js";
import { invalid } from "../channel/index.js";
import { markForcedShutdown } from "./server-end.js";
import { statusError } from "./status.js";

/**
 * Server options for a grpc-js server that holds long-lived streams (pass them to `new Server(...)`):
 *
 * - `grpc.max_concurrent_streams: 1000`: at most 1,000 streams at once per connection (HTTP/2's
 *   SETTINGS_MAX_CONCURRENT_STREAMS; further streams wait on the client until one ends). Without a
 *   cap one client can open streams until the server runs out of memory: 4,000 streams that are
 *   opened and never read cost this server about 200 MiB.
 * - `grpc.keepalive_time_ms: 60000`, `grpc.keepalive_timeout_ms: 20000`: the server pings a
 *   connection that was quiet for a minute and drops it if no answer comes within 20 s, so streams of
 *   a client that vanished without closing its socket (a host gone, a network cut) end, and their
 *   handlers learn it (`ctx.signal`), instead of waiting forever.
 *
 * @example
 * ```ts
 * const server = new Server({ ...streamingServerOptions, "grpc.max_receive_message_length": 1 << 20 });
 * ```
 */
export const streamingServerOptions: ChannelOptions = Object.freeze({
  "grpc.max_concurrent_streams": 1000,
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_timeout_ms": 20_000,
});

/** The parts of a grpc-js `Server` that {@link shutdownServer} uses. */
export interface StoppableServer {
  /** Stops accepting calls and calls back once the open ones are done. */
  tryShutdown(callback: (error?: Error) => void): void;
  /** Ends every call and connection now. */
  forceShutdown(): void;
}

/** Options of {@link shutdownServer}. */
export interface ShutdownOptions {
  /**
   * The controller whose signal the server's handlers were given as `shutdownSignal`: it is aborted
   * (with an `UNAVAILABLE` {@link GrpcError}), so every open call ends at once with that status
   * instead of being waited for.
   */
  abort?: AbortController;
  /** How long to wait for open calls before forcing them closed (ms, default 5000). */
  graceMs?: number;
}

/** What {@link shutdownServer} reports. */
export interface ShutdownResult {
  /** The grace period ran out and the server was forced (`forceShutdown`). */
  readonly forced: boolean;
}

/**
 * Stops a server: refuses new calls, ends the open ones through `options.abort` (each handler's
 * `ctx.signal` aborts and its client gets `UNAVAILABLE`), waits for them to finish, and forces what
 * is left after `graceMs`.
 *
 * @returns whether the grace period ran out and the server was forced.
 *
 * @example
 * ```ts
 * const stopping = new AbortController();
 * server.addService(MessageServiceService, {
 *   streamMessages: serveBidi(handler, { shutdownSignal: stopping.signal }),
 * });
 * process.once("SIGINT", () => void shutdownServer(server, { abort: stopping, graceMs: 5000 }));
 * ```
 */
export function shutdownServer(server: StoppableServer, options?: ShutdownOptions): Promise<ShutdownResult> {
  const graceMs = options?.graceMs ?? 5000;
  if (typeof graceMs !== "number" || !(graceMs >= 0)) {
    throw invalid("graceMs", "a number of milliseconds from 0 up", graceMs);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      markForcedShutdown(server);
      server.forceShutdown();
      resolve({ forced: true });
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve({ forced: false });
    });
    options?.abort?.abort(statusError(status.UNAVAILABLE, "the server is shutting down"));
  });
}
