/**
 * gRPC statuses as errors, and the one place where any error is mapped to a status code.
 *
 * @module
 */
import { Metadata, status } from "@grpc/grpc-js";

/** The final status of a call: `code` (OK included), `details` and the trailing metadata. */
export interface CallStatus {
  /** The gRPC status code. */
  readonly code: status;
  /** The status message. */
  readonly details: string;
  /** The trailing metadata. */
  readonly metadata: Metadata;
}

/** Anything that looks like a gRPC status: grpc-js `ServiceError`, `StatusObject`, nice-grpc errors. */
interface StatusLike {
  code: number;
  details?: unknown;
  message?: unknown;
  metadata?: unknown;
}

/** Whether `err` carries a gRPC status of its own (a {@link GrpcError} or a status-shaped error). */
export function isStatusError(err: unknown): boolean {
  return err instanceof GrpcError || isStatusLike(err);
}

function isStatusLike(err: unknown): err is StatusLike {
  if (typeof err !== "object" || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return (
    typeof code === "number" && Number.isInteger(code) && code > status.OK && code <= status.UNAUTHENTICATED
  );
}

/**
 * A non-OK gRPC status as an `Error`, shaped like grpc-js's `ServiceError` (`code`, `details`,
 * `metadata`).
 *
 * On the client, receivers and status promises reject with it. On the server, throw it from a
 * handler to choose the status the client sees; any other error becomes `UNKNOWN` with a generic
 * message, so no message or stack trace leaks to the wire.
 *
 * @example
 * ```ts
 * import { status } from "@grpc/grpc-js";
 * import { GrpcError } from "grpc-mpsc/grpc";
 *
 * throw new GrpcError(status.NOT_FOUND, "no job 42");
 * ```
 */
export class GrpcError extends Error {
  /** The gRPC status code (never OK). */
  readonly code: status;
  /** The status message sent on the wire. */
  readonly details: string;
  /** Trailing metadata sent with (or received with) the status. */
  readonly metadata: Metadata;

  /**
   * @param code the status code
   * @param details the status message
   * @param metadata trailing metadata (empty by default)
   */
  constructor(code: status, details: string, metadata: Metadata = new Metadata()) {
    super(`${code} ${status[code] ?? "UNKNOWN"}: ${details}`);
    this.name = "GrpcError";
    this.code = code;
    this.details = details;
    this.metadata = metadata;
  }

  /**
   * Maps any error to a status: a `GrpcError` stays as it is; a status-shaped error (an integer
   * `code` that is a non-OK status, as grpc-js's `ServiceError`) keeps its code, details and
   * metadata; anything else becomes `UNKNOWN` with the generic details `"internal error"`.
   */
  static from(err: unknown): GrpcError {
    if (err instanceof GrpcError) return err;
    if (isStatusLike(err)) {
      const details =
        typeof err.details === "string" ? err.details : typeof err.message === "string" ? err.message : "";
      const metadata = err.metadata instanceof Metadata ? err.metadata : new Metadata();
      return new GrpcError(err.code, details, metadata);
    }
    return new GrpcError(status.UNKNOWN, "internal error");
  }
}

/** The error of a call that the peer cancelled (or that was cancelled locally). */
export function cancelledError(details = "call cancelled"): GrpcError {
  return new GrpcError(status.CANCELLED, details);
}
