/**
 * The gRPC status codes by name and number, without loading `@grpc/grpc-js` (whose `status` enum has
 * the same values): the `grpc-mpsc/h2` transport and the errors it makes need them at runtime.
 *
 * @module
 */

/** The gRPC status codes (the values of grpc-js's `status` enum). */
export const Code = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const);

/** A gRPC status code, 0 (OK) to 16. */
export type CodeNumber = (typeof Code)[keyof typeof Code];

const NAMES: readonly string[] = Object.keys(Code);

/** The name of status code `code` (`"NOT_FOUND"`), or `"UNKNOWN"` for a number that is none. */
export function codeName(code: number): string {
  return NAMES[code] ?? "UNKNOWN";
}
