/**
 * The status in HTTP/2 headers: `grpc-status`, the percent-encoded `grpc-message`, and the gRPC code
 * a response without `grpc-status` stands for, from its HTTP status.
 *
 * @internal
 */
import { Code } from "../grpc/codes.js";

/**
 * `details` percent-encoded for `grpc-message`: every byte of its UTF-8 outside printable ASCII, and
 * `%` itself, as `%XX`.
 */
export function encodeMessage(details: string): string {
  // The common case (plain ASCII, no %) passes through without a copy.
  if (/^[\x20-\x24\x26-\x7e]*$/.test(details)) return details;
  let out = "";
  for (const byte of Buffer.from(details, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * A received `grpc-message` decoded; a `%` not followed by two hex digits is kept as it is (the spec
 * asks receivers not to fail on it), and bytes that are not UTF-8 become U+FFFD.
 */
export function decodeMessage(value: string): string {
  if (!value.includes("%")) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      for (const b of Buffer.from(value[i] as string, "utf8")) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/**
 * The gRPC code for an HTTP response that is not a gRPC one (gRPC's `http-grpc-status-mapping.md`):
 * 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429, 502, 503 and 504
 * UNAVAILABLE, anything else UNKNOWN.
 */
export function codeOfHttpStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return Code.INTERNAL;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
      return Code.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.UNAVAILABLE;
    default:
      return Code.UNKNOWN;
  }
}

/**
 * The gRPC code and what to call it for an RST_STREAM code that names a cause of its own (gRPC's
 * `PROTOCOL-HTTP2.md` error table, as grpc-js reads them): ENHANCE_YOUR_CALM is RESOURCE_EXHAUSTED
 * (gRPC's C core resets so a call it refuses a message over its limit of), INADEQUATE_SECURITY is
 * PERMISSION_DENIED; `undefined` for the others (CANCEL, REFUSED_STREAM and the protocol errors are
 * each side's to read).
 */
export function codeOfReset(rstCode: number | undefined): { code: number; name: string } | undefined {
  switch (rstCode) {
    case 0xb: // NGHTTP2_ENHANCE_YOUR_CALM
      return { code: Code.RESOURCE_EXHAUSTED, name: "ENHANCE_YOUR_CALM" };
    case 0xc: // NGHTTP2_INADEQUATE_SECURITY
      return { code: Code.PERMISSION_DENIED, name: "INADEQUATE_SECURITY" };
    default:
      return undefined;
  }
}

/** The `grpc-status` in `value`, or `undefined` when it is not a code from 0 to 16. */
export function parseStatus(value: unknown): number | undefined {
  if (typeof value !== "string" || !/^\d{1,2}$/.test(value)) return undefined;
  const code = Number(value);
  return code <= Code.UNAUTHENTICATED ? code : undefined;
}

/** Whether `contentType` is gRPC's: `application/grpc`, optionally `+proto` (or another) or parameters. */
export function isGrpcContentType(contentType: unknown): boolean {
  if (typeof contentType !== "string") return false;
  const ct = contentType.toLowerCase();
  return (
    ct === "application/grpc" || ct.startsWith("application/grpc+") || ct.startsWith("application/grpc;")
  );
}
