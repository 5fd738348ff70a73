/**
 * Promises that know whether anybody is listening. The gRPC senders hand these out for sends that
 * are refused (or may be, once parked): a handler that calls `responses.send(x)` without awaiting it
 * must not crash the process with an unhandled rejection when its client leaves, and the refused value
 * must not vanish silently either, so the owner reports refusals that nobody observed.
 *
 * @internal
 */

import { macrotask } from "./macrotask.js";

/** The native `then`, to subscribe without counting as an observer. */
const nativeThen = Promise.prototype.then;

/** A promise that records whether anybody subscribed to it (`then`, `catch`, `finally`, `await`). */
export class Observed<T> extends Promise<T> {
  /** Derived promises (from `then`) are plain promises. */
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  /** Somebody subscribed. */
  observed = false;

  // biome-ignore lint/suspicious/noThenProperty: seeing who subscribes is what this class is for
  override then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.observed = true;
    return super.then(onfulfilled, onrejected);
  }
}

/**
 * Handles `promise`'s rejection (so it is never an unhandled rejection) and calls `report(reason)`
 * if nobody had subscribed to it by the next macrotask. `await p` subscribes in a microtask, and an
 * already-rejected promise runs our handler first, so the check waits a whole turn.
 */
export function reportUnobserved(promise: Observed<unknown>, report: (reason: unknown) => void): void {
  nativeThen.call(promise, undefined, (reason: unknown) => {
    macrotask(() => {
      if (!promise.observed) report(reason);
    });
  });
}
