/**
 * gRPC statuses as errors, and the one place where any value maps to a status.
 *
 * Two directions, one mapping:
 * - **Received** (client side): a status from the peer becomes a {@link GrpcError} through
 *   {@link GrpcError.from}, marked as received.
 * - **Sent** (server side): only a `GrpcError` that the application made (not one it received from a
 *   downstream call) sends its code and details; anything else is `UNKNOWN` with generic details and
 *   goes to the handler's `onError`, so no internal message, address or stack reaches a client.
 *   {@link GrpcError.forward} passes a downstream status on on purpose.
 *
 * No grpc-js here, not even its types: this file is the `grpc-mpsc/h2` entry's `GrpcError`, whose
 * declaration must compile without `@grpc/grpc-js` installed. Its code is a {@link CodeNumber} and its
 * metadata a {@link MetadataMap} (what both `WireMetadata` and grpc-js's `Metadata` are); `status.ts`
 * narrows them to grpc-js's `status` and `Metadata` for the grpc-js adapters.
 *
 * @module
 */
import { brand } from "../channel/index.js";
import { type MetadataMap, WireMetadata } from "../h2/metadata.js";
import { Code, type CodeNumber, codeName } from "./codes.js";
import { field, messageOf } from "./hostile.js";
import { isMetadata } from "./metadata-shape.js";

export { field, messageOf };

/**
 * Makes the metadata of a {@link GrpcError} built without any: grpc-js's `Metadata` once the grpc-js
 * adapters are loaded (`status.ts` installs it), else the transport-free {@link WireMetadata}, so that
 * the `grpc-mpsc/h2` entry never loads grpc-js for an error.
 */
let makeMetadata: () => MetadataMap = () => new WireMetadata();

/** Sets what {@link GrpcError} uses for metadata nobody gave (called by `status.ts`). */
export function useMetadataClass(factory: () => MetadataMap): void {
  makeMetadata = factory;
}

/** Marks a {@link GrpcError} made from a status that a peer sent (a global key: any copy of this package agrees). */
const RECEIVED = Symbol.for("grpc-mpsc.received");

/** Whether `code` is a gRPC status code other than OK. */
function isErrorCode(code: unknown): code is CodeNumber {
  return typeof code === "number" && Number.isInteger(code) && code > Code.OK && code <= Code.UNAUTHENTICATED;
}

/**
 * A non-OK gRPC status as an `Error`, shaped like grpc-js's `ServiceError` (`code`, `details`,
 * `metadata`).
 *
 * On the client, receivers and status promises reject with it. On the server, throw it from a
 * handler to choose the status the client sees; any other error becomes `UNKNOWN` with a generic
 * message, so no message or stack trace leaks to the wire.
 *
 * `instanceof GrpcError` holds across copies of this package (its ESM and CommonJS builds, or two
 * installed versions), and across its entries: `grpc-mpsc/h2` and `grpc-mpsc/grpc` export the same
 * class (the latter typed with grpc-js's `status` and `Metadata`).
 *
 * @example
 * ```ts
 * import { Code, GrpcError } from "grpc-mpsc/h2";
 *
 * throw new GrpcError(Code.NOT_FOUND, "no job 42");
 * ```
 */
export class GrpcError extends Error {
  static {
    brand(GrpcError, "GrpcError");
  }

  /** The gRPC status code (never OK: a code that is not a gRPC error code becomes UNKNOWN). */
  readonly code: CodeNumber;
  /** The status message sent on the wire. */
  readonly details: string;
  /**
   * Trailing metadata sent with (or received with) the status: a `WireMetadata`, or a grpc-js
   * `Metadata` (received on a call made with one, or made once `grpc-mpsc/grpc` is loaded).
   */
  readonly metadata: MetadataMap;

  /**
   * @param code the status code; anything but an integer from 1 to 16 becomes `UNKNOWN`
   * @param details the status message
   * @param metadata trailing metadata (empty by default)
   * @param options `cause`: the error this one stands for
   */
  constructor(code: number, details: string, metadata?: MetadataMap, options?: ErrorOptions) {
    const valid = isErrorCode(code) ? code : Code.UNKNOWN;
    const text = typeof details === "string" ? details : messageOf(details);
    super(`${valid} ${codeName(valid)}: ${text}`, options);
    this.name = "GrpcError";
    this.code = valid;
    this.details = text;
    this.metadata = metadata ?? makeMetadata();
  }

  /**
   * Maps any value to a `GrpcError`; the original is kept as `cause`, as it came (a grpc-js
   * `StatusObject` is a plain object with `code`, `details` and `metadata`, not an `Error`).
   *
   * - A `GrpcError` is returned as it is.
   * - A status-shaped value (grpc-js's `ServiceError` or `StatusObject`, nice-grpc's errors: an
   *   object with a numeric `code` or a string `details`) keeps its code (`UNKNOWN` if it is not a
   *   gRPC error code: NaN, 99, -1, 2.5, OK), its details (else its `message`) and its metadata.
   * - Anything else becomes `UNKNOWN` with its message as details.
   *
   * On a server this does not decide what a client sees: only a `GrpcError` the application made
   * sends its status (see {@link GrpcError.forward}).
   */
  static from(reason: unknown): GrpcError {
    if (reason instanceof GrpcError) return reason;
    if (typeof reason === "object" && reason !== null) {
      const code = field(reason, "code");
      const details = field(reason, "details");
      if (typeof code === "number" || typeof details === "string") {
        const metadata = field(reason, "metadata");
        const text = typeof details === "string" ? details : messageOf(reason);
        return new GrpcError(code as number, text, isMetadata(metadata) ? metadata : undefined, {
          cause: reason,
        });
      }
    }
    return new GrpcError(Code.UNKNOWN, messageOf(reason), undefined, { cause: reason });
  }

  /**
   * A status received from a downstream call (or any status-shaped error), made the application's
   * own so that a handler that throws it sends that code, details and trailers to its client.
   * Without it, a handler that lets a downstream failure escape answers `UNKNOWN`.
   *
   * @example
   * ```ts
   * try {
   *   return await lookup(req); // a call to another service
   * } catch (err) {
   *   throw GrpcError.forward(err); // the client sees the downstream status, e.g. NOT_FOUND
   * }
   * ```
   */
  static forward(reason: unknown): GrpcError {
    const from = GrpcError.from(reason);
    return new GrpcError(from.code, from.details, from.metadata, { cause: reason });
  }
}

/** The error for a non-OK status that a peer sent (marked: a server does not pass it on by itself). */
export function receivedError(received: unknown, cause?: unknown): GrpcError {
  const mapped = GrpcError.from(received);
  const error =
    cause === undefined || mapped === received
      ? mapped
      : new GrpcError(mapped.code, mapped.details, mapped.metadata, { cause });
  Object.defineProperty(error, RECEIVED, { value: true });
  return error;
}

/** Whether `reason` chooses the status a server sends: a {@link GrpcError} the application made. */
export function isExplicitStatus(reason: unknown): reason is GrpcError {
  if (!(reason instanceof GrpcError)) return false;
  try {
    return (reason as unknown as Record<symbol, unknown>)[RECEIVED] !== true;
  } catch {
    return false;
  }
}

/** A status error made by the library itself (cancel, deadline, shutdown). */
export function statusError(code: number, details: string, cause?: unknown): GrpcError {
  return new GrpcError(code, details, undefined, cause === undefined ? undefined : { cause });
}
