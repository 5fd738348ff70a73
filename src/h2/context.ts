/**
 * What an h2 handler knows about its call.
 *
 * @module
 */
import type { CallMetrics } from "../grpc/events.js";
import type { MetadataLike, WireMetadata } from "./metadata.js";

/** The context of one h2 server call (the h2 counterpart of the grpc-js wrappers' `ServerContext`). */
export interface H2ServerContext {
  /** The full method name, e.g. `/messages.MessageService/StreamMessages`. */
  readonly method: string;
  /** The request metadata. */
  readonly metadata: WireMetadata;
  /** The client's deadline (from `grpc-timeout`), or `undefined` when it set none. */
  readonly deadline: Date | undefined;
  /**
   * Aborts when the call ends before the handler finished, with a `GrpcError` saying why:
   * `CANCELLED` (the client reset the stream with CANCEL, or the connection was lost),
   * `DEADLINE_EXCEEDED`, `UNAVAILABLE` (the server shuts down), or the status the transport sent
   * when it refused the client's input (`RESOURCE_EXHAUSTED`, `INTERNAL`).
   */
  readonly signal: AbortSignal;
  /** The client's address, `host:port`. */
  readonly peer: string;
  /**
   * Sends the response headers now, with this metadata (before the first response; later, or twice,
   * throws).
   */
  sendMetadata(metadata: MetadataLike): void;
  /** Trailing metadata: add to it; it is sent with the final status, OK or not. */
  readonly trailers: WireMetadata;
  /** Messages and bytes each way so far (bytes: each message's serialized size, before compression). */
  metrics(): CallMetrics;
}
