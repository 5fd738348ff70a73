/**
 * Why sends are refused once a call ended, in one wording for both transports.
 *
 * @internal
 */
import type { ClosedBy } from "../channel/index.js";
import type { GrpcError } from "./grpc-error.js";

/** The `SendError` message and cause for sends refused because the call ended with `outcome`. */
export function endedBy(outcome: GrpcError | null): ClosedBy {
  return outcome === null
    ? { message: "the call ended (OK) before this message was sent", cause: undefined }
    : { message: `the call ended (${outcome.message}) before this message was sent`, cause: outcome };
}
