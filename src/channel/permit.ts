import type { Chan } from "./chan.js";

/**
 * One reserved slot in a channel, from {@link Sender.reserve} or {@link Sender.tryReserve} (or
 * several at once, from {@link Sender.reserveMany} and {@link Sender.tryReserveMany}).
 *
 * `permit.send(value)` never waits: the slot is already yours. A permit that is released (or
 * disposed, or garbage-collected) unused gives its slot back to the next waiting sender. A permit
 * reserved before the receiver closed can still send, and its value is still received.
 *
 * @example
 * ```ts
 * const permit = await tx.reserve(); // wait for room first...
 * const job = await buildJob();      // ...then build the value: nothing is built that cannot be sent
 * permit.send(job);
 * ```
 */
export class Permit<T> {
  #chan: Chan<T> | null;
  /** The channel it was reserved in, kept after use: `sameChannel` still answers then. */
  readonly #origin: Chan<T>;

  /** @internal Permits come from `Sender.reserve`, `Sender.tryReserve` and their `Many` forms. */
  constructor(chan: Chan<T>) {
    this.#chan = chan;
    this.#origin = chan;
    permits.register(this, chan, this);
  }

  /**
   * Whether `other` was reserved in the same channel as this permit (used or not).
   *
   * @example
   * ```ts
   * const [a, b] = await tx.reserveMany(2);
   * const [tx2] = channel<number>(1);
   * console.log(a.sameChannel(b), a.sameChannel(tx2.tryReserve())); // true false
   * ```
   */
  sameChannel(other: Permit<T>): boolean {
    return other.#origin === this.#origin;
  }

  /** Whether this permit was already used or released. */
  get isUsed(): boolean {
    return this.#chan === null;
  }

  /**
   * Sends `value` into the reserved slot. Never waits.
   *
   * @throws TypeError for a value the channel cannot carry (as `Sender.send`).
   * @throws Error if the permit was already used or released.
   */
  send(value: T): void {
    const chan = this.#chan;
    if (chan === null) throw new Error("Permit already used or released");
    const unfit = chan.unfit(value);
    if (unfit !== undefined) throw unfit;
    this.#chan = null;
    permits.unregister(this);
    chan.deliver(value);
    chan.permitDone();
  }

  /** Gives the slot back unused. Idempotent, and a no-op after `send`. */
  release(): void {
    const chan = this.#chan;
    if (chan === null) return;
    this.#chan = null;
    permits.unregister(this);
    chan.permitDone();
  }

  /** Same as {@link Permit.release}, for `using permit = await tx.reserve()`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** A permit that is garbage-collected unused gives its slot back, like a dropped Tokio permit. */
const permits = new FinalizationRegistry<Chan<unknown>>((chan) => chan.permitDone());
