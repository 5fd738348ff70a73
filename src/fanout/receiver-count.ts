/**
 * How many receivers a fan-out channel has, and the senders' `closed()`: a promise that resolves
 * when the count falls to zero, made anew when a later subscription raises it again.
 *
 * @internal
 */
import { readyVoid } from "../channel/index.js";

export class ReceiverCount {
  /** Receivers now. */
  count = 0;
  #zero: { promise: Promise<void>; resolve: () => void } | undefined;

  /** One more receiver. */
  add(): void {
    this.count++;
  }

  /** One receiver fewer; the last one resolves `whenZero`. */
  remove(): void {
    if (--this.count > 0) return;
    this.#zero?.resolve();
    this.#zero = undefined;
  }

  /** Resolves when no receiver is left. */
  whenZero(): Promise<void> {
    // On the yield budget: a loop that awaits an already-closed channel must not starve the event loop.
    if (this.count === 0) return readyVoid();
    if (this.#zero === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#zero = { promise, resolve };
    }
    return this.#zero.promise;
  }
}
