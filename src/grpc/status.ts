/**
 * The status mapping as the grpc-js adapters import it: {@link GrpcError} and its helpers (in
 * `grpc-error.ts`, which loads no grpc-js and names none of its types), with grpc-js's own `Metadata`
 * installed as the metadata of errors made without any, so that the adapters' errors carry metadata
 * grpc-js takes, and typed so: the same class, its code a grpc-js `status` and its metadata a grpc-js
 * `Metadata`, as grpc-js's `ServiceError` has them.
 *
 * @module
 */
import { Metadata, type status } from "@grpc/grpc-js";
import {
  GrpcError as AnyGrpcError,
  isExplicitStatus as isExplicitAny,
  receivedError as receivedAny,
  statusError as statusAny,
  useMetadataClass,
} from "./grpc-error.js";

useMetadataClass(() => new Metadata());

/** The final status of a call: `code` (OK included), `details` and the trailing metadata. */
export interface CallStatus {
  /** The gRPC status code. */
  readonly code: status;
  /** The status message. */
  readonly details: string;
  /** The trailing metadata. */
  readonly metadata: Metadata;
}

/**
 * A non-OK gRPC status as an `Error`, shaped like grpc-js's `ServiceError` (`code`, `details`,
 * `metadata`): the `GrpcError` of `grpc-mpsc/h2` (one class, so `instanceof` holds for either),
 * typed with grpc-js's `status` and `Metadata`.
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
export interface GrpcError extends AnyGrpcError {
  /** The gRPC status code (never OK: a code that is not a gRPC error code becomes UNKNOWN). */
  readonly code: status;
  /** Trailing metadata sent with (or received with) the status. */
  readonly metadata: Metadata;
}

/** The class {@link GrpcError}: its constructor and static methods, typed for grpc-js. */
export interface GrpcErrorConstructor {
  /**
   * @param code the status code; anything but an integer from 1 to 16 becomes `UNKNOWN`
   * @param details the status message
   * @param metadata trailing metadata (empty by default)
   * @param options `cause`: the error this one stands for
   */
  new (code: status, details: string, metadata?: Metadata, options?: ErrorOptions): GrpcError;
  /** The prototype of every `GrpcError`. */
  readonly prototype: GrpcError;
  /**
   * Maps any value to a `GrpcError`, keeping the original as `cause` (see the `GrpcError.from` of
   * `grpc-mpsc/h2`): a `GrpcError` as it is, a status-shaped value with its code, details and
   * metadata, anything else `UNKNOWN` with its message.
   */
  from(reason: unknown): GrpcError;
  /**
   * A status received from a downstream call made the application's own, so that a handler that
   * throws it sends that code, details and trailers to its client.
   */
  forward(reason: unknown): GrpcError;
}

/** {@link GrpcError}'s class (the one `grpc-mpsc/h2` exports, typed for grpc-js). */
// Through unknown: grpc-js's Metadata has private members, so no structural type is one. At run
// time an error made without metadata has grpc-js's (installed above); one made from a status the h2
// transport received keeps its WireMetadata, as it did when grpc-error.ts itself named grpc-js's types.
export const GrpcError: GrpcErrorConstructor = AnyGrpcError as unknown as GrpcErrorConstructor;

/** The error for a non-OK status that a peer sent (marked: a server does not pass it on by itself). */
export const receivedError = receivedAny as (received: unknown, cause?: unknown) => GrpcError;

/** Whether `reason` chooses the status a server sends: a {@link GrpcError} the application made. */
export const isExplicitStatus = isExplicitAny as (reason: unknown) => reason is GrpcError;

/** A status error made by the library itself (cancel, deadline, shutdown). */
export const statusError = statusAny as (code: status, details: string, cause?: unknown) => GrpcError;
