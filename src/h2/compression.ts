/**
 * Message compression: `identity` and `gzip` (gRPC's `compression.md`). Each message is compressed on
 * its own and flagged in its prefix; the call's `grpc-encoding` header names the algorithm.
 *
 * @internal
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { Code } from "../grpc/codes.js";
import { type GrpcError, statusError } from "../grpc/grpc-error.js";

/** The encodings this transport reads and writes. */
export type Encoding = "identity" | "gzip";

/** What this side sends in `grpc-accept-encoding`. */
export const ACCEPT_ENCODING = "identity,gzip";

/** Whether `name` is an encoding this transport can decode. */
export function isSupportedEncoding(name: string): name is Encoding {
  return name === "identity" || name === "gzip";
}

/** `payload` compressed with `encoding`. */
export function compress(payload: Buffer, encoding: Encoding): Buffer {
  return encoding === "gzip" ? gzipSync(payload) : payload;
}

/**
 * A received message's bytes, decompressed: an error for a compressed flag on an `identity` call
 * (INTERNAL), bytes that are not gzip (INTERNAL), or more than `max` bytes once inflated
 * (RESOURCE_EXHAUSTED: a small frame cannot inflate into a huge one).
 */
export function decompress(payload: Buffer, encoding: Encoding, max: number): Buffer | GrpcError {
  if (encoding === "identity") {
    return statusError(Code.INTERNAL, "a message was flagged compressed but the call has no grpc-encoding");
  }
  try {
    return gunzipSync(payload, { maxOutputLength: max });
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      return statusError(Code.RESOURCE_EXHAUSTED, `a compressed message inflates to over ${max} bytes`);
    }
    return statusError(Code.INTERNAL, "a compressed message is not valid gzip", error);
  }
}
