/**
 * Running a handler without letting it throw or reject unobserved, and telling a handler's way out
 * of an ended call from a bug: shared by the grpc-js wrappers and the h2 server.
 *
 * @internal
 */

import { SendError } from "../channel/index.js";
import { Code } from "./codes.js";
import { GrpcError, isExplicitStatus, statusError } from "./grpc-error.js";
import { logError } from "./report.js";

/**
 * How a handler leaves a call that ended under it: a refused send, the call's own error (from
 * `requests` or `ctx.signal`), or an abort of something it passed `ctx.signal` to (a timer, `fetch`).
 */
export function isWayOut(error: unknown): boolean {
  if (error instanceof SendError || error instanceof GrpcError) return true;
  if (typeof error !== "object" || error === null) return false;
  try {
    return (
      (error as { name?: unknown }).name === "AbortError" ||
      (error as { cause?: unknown }).cause instanceof GrpcError
    );
  } catch {
    return false;
  }
}

export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Runs a handler and hands its outcome to `then`; never lets it throw or reject unobserved. */
export function settle<R>(invoke: () => Promise<R>, then: (outcome: Outcome<R>) => void): void {
  settleWith(invoke, then, callWith);
}

/**
 * {@link settle} that hands the outcome to `then(owner, outcome)`: with a `then` shared by every
 * call (a static function of the owner's class), a parked handler keeps no closure of the owner's,
 * only the promise's two reactions.
 */
export function settleWith<O, R>(
  invoke: () => Promise<R>,
  owner: O,
  then: (owner: O, outcome: Outcome<R>) => void,
): void {
  let promise: Promise<R>;
  try {
    promise = Promise.resolve(invoke());
  } catch (error) {
    settled(owner, then, { ok: false, error });
    return;
  }
  // Two closures over `owner` and `then`, no third: a parked handler keeps them for as long as it runs.
  promise.then(
    (value) => settled(owner, then, { ok: true, value }),
    (error: unknown) => settled(owner, then, { ok: false, error }),
  );
}

function callWith<R>(then: (outcome: Outcome<R>) => void, outcome: Outcome<R>): void {
  then(outcome);
}

/** Hands `outcome` to `then`; a throw is logged, never passed on. */
function settled<O, R>(owner: O, then: (owner: O, outcome: Outcome<R>) => void, outcome: Outcome<R>): void {
  try {
    then(owner, outcome);
  } catch (error) {
    logError("ending a call failed", error);
  }
}

/**
 * The status a handler's error sends: the error itself if it is a {@link GrpcError} of the
 * application's making, else `UNKNOWN` "internal error", after `report` was handed the error (so no
 * message or stack reaches the client).
 */
export function wireStatus(error: unknown, report: (error: unknown) => void): GrpcError {
  if (isExplicitStatus(error)) return error;
  report(error);
  return statusError(Code.UNKNOWN, "internal error");
}
