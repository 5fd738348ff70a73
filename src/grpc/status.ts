/**
 * The status mapping as the grpc-js adapters import it: {@link GrpcError} and its helpers (in
 * `grpc-error.ts`, which loads no grpc-js), with grpc-js's own `Metadata` installed as the metadata of
 * errors made without any, so that the adapters' errors carry metadata grpc-js takes.
 *
 * @module
 */
import { Metadata } from "@grpc/grpc-js";
import { useMetadataClass } from "./grpc-error.js";

useMetadataClass(() => new Metadata());

export {
  type CallStatus,
  GrpcError,
  isExplicitStatus,
  receivedError,
  statusError,
} from "./grpc-error.js";
