/**
 * A call's deadline from the caller's `deadline` and `timeoutMs`, and the error of a call whose
 * AbortSignal aborted: shared by the grpc-js helpers and the h2 transport (no grpc-js at runtime).
 *
 * @internal
 */
import { invalid } from "../channel/index.js";
import { Code } from "./codes.js";
import { GrpcError, statusError } from "./grpc-error.js";
import { field, messageOf } from "./hostile.js";

/** The options a deadline is read from. */
export interface DeadlineOptions {
  /** A `Date` or epoch milliseconds. */
  deadline?: Date | number;
  /** Milliseconds from now. */
  timeoutMs?: number;
}

/** Epoch milliseconds below this (2001-09-09) are taken for a relative timeout given by mistake. */
const EARLIEST_DEADLINE = 1e12;
/**
 * The longest timeout a call can carry: grpc-js servers keep the timeout in a 32-bit integer (a
 * longer one wraps negative and ends the call at once) and grpc-js clients refuse far ones outright.
 */
const LONGEST_TIMEOUT = 2 ** 31 - 1;
const LONGEST = "at most 2147483647 ms (about 24.8 days) away; leave both out for no deadline";

/** The deadline of the call from `deadline` and `timeoutMs`, validated. */
export function deadlineOf(options: DeadlineOptions | undefined): Date | number | undefined {
  let at: number | undefined;
  const deadline = options?.deadline;
  if (deadline !== undefined) {
    const ms = deadline instanceof Date ? deadline.getTime() : deadline;
    if (
      typeof ms !== "number" ||
      Number.isNaN(ms) ||
      (!(deadline instanceof Date) && ms < EARLIEST_DEADLINE)
    ) {
      throw invalid(
        "deadline",
        "a Date or epoch milliseconds such as Date.now() + 5000 (for a relative timeout, use `timeoutMs`)",
        deadline,
      );
    }
    if (ms !== Number.POSITIVE_INFINITY && ms - Date.now() > LONGEST_TIMEOUT) {
      throw invalid("deadline", `a Date or epoch milliseconds ${LONGEST}`, deadline);
    }
    at = ms;
  }
  const timeoutMs = options?.timeoutMs;
  if (timeoutMs !== undefined) {
    if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
      throw invalid("timeoutMs", "a number of milliseconds from 0 up", timeoutMs);
    }
    if (timeoutMs !== Number.POSITIVE_INFINITY && timeoutMs > LONGEST_TIMEOUT) {
      throw invalid("timeoutMs", `a number of milliseconds ${LONGEST}`, timeoutMs);
    }
    const byTimeout = Date.now() + timeoutMs;
    at = at === undefined ? byTimeout : Math.min(at, byTimeout);
  }
  return at;
}

/** The error a call ends with when `signal` aborts with `reason`. */
export function abortError(reason: unknown): GrpcError {
  if (reason instanceof GrpcError)
    return new GrpcError(reason.code, reason.details, undefined, { cause: reason });
  if (field(reason, "name") === "TimeoutError") {
    return statusError(Code.DEADLINE_EXCEEDED, "the call's AbortSignal timed out", reason);
  }
  return statusError(Code.CANCELLED, `the call's AbortSignal aborted: ${messageOf(reason)}`, reason);
}

/**
 * How early before a server's deadline a client's reset still counts as the deadline. A client
 * resets its stream when its own deadline passes, and the server's copy of that deadline is later by
 * the time the headers took to arrive and be handled (tens of ms on a loaded machine), so without
 * this margin a deadline often reads as the client's cancel.
 */
export const DEADLINE_SKEW_MS = 100;

/** Whether a client's reset that came now, with the server's copy of the deadline at `deadline`, is the deadline. */
export function resetAtDeadline(deadline: number): boolean {
  return Date.now() >= deadline - DEADLINE_SKEW_MS;
}
