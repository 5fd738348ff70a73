/**
 * Reporting what the peer is not told, without ever throwing: an `onError` that throws, an error
 * whose `inspect` hook throws, or a `console` that fails must not take the process down.
 *
 * @internal
 */
import { inspect } from "node:util";
import { SendError } from "../channel/index.js";
import { field, messageOf } from "./hostile.js";

/** Writes `prefix` and `error` on stderr; never throws. */
export function logError(prefix: string, error: unknown): void {
  let what: string;
  try {
    what = inspect(error);
  } catch {
    what = messageOf(error);
  }
  try {
    console.error(`grpc-mpsc: ${prefix}: ${what}`);
  } catch {
    // nowhere left to report it
  }
}

/**
 * Calls `onError(error)`; if it throws, or returns a promise that rejects (an async `onError` fits
 * its type), logs what it threw under `prefix`.
 */
export function reportTo(onError: (error: unknown) => void, error: unknown, prefix: string): void {
  const failed = (thrown: unknown): void => logError(`${prefix} (and its onError threw)`, thrown);
  try {
    const returned: unknown = onError(error);
    const then = typeof returned === "object" && returned !== null ? field(returned, "then") : undefined;
    if (typeof then === "function") then.call(returned, undefined, failed);
  } catch (thrown) {
    failed(thrown);
  }
}

/**
 * Sends that were refused because the call had ended and that nobody awaited, reported once per
 * call: the refusals of one turn of the event loop become one {@link SendError} carrying the first
 * value and the count.
 */
export class UnsentReport {
  readonly #report: (error: unknown) => void;
  #first: unknown;
  #count = 0;

  constructor(report: (error: unknown) => void) {
    this.#report = report;
  }

  /** One more refused send nobody observed (`reason`: its rejection). */
  add(reason: unknown): void {
    if (this.#count++ > 0) return;
    this.#first = reason;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    const first = this.#first;
    if (!(first instanceof SendError) || this.#count === 1) {
      this.#report(first);
      return;
    }
    const message = `${this.#count} sends that nobody awaited were refused; the first: ${first.message}`;
    this.#report(new SendError(first.value, message, { cause: first.cause }));
  }
}
