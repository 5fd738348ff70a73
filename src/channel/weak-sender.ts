import type { Chan } from "./chan.js";
import type { Sender } from "./sender.js";

/**
 * A handle to a channel that does not keep it open: once every {@link Sender} is closed, the
 * receiver sees the end even though weak handles remain, and {@link WeakSender.upgrade} answers
 * `undefined` from then on. Made by {@link Sender.downgrade}; Tokio's `WeakSender`.
 *
 * The use is a component that must be able to send into a channel without being the reason it
 * stays open: an actor that sends messages to itself, a cache that reports to its owner's queue.
 * A weak handle that is garbage-collected changes nothing (it holds no slot and no vote on closing);
 * {@link WeakSender.close} only takes it out of {@link WeakSender.weakCount}.
 *
 * @example
 * ```ts
 * const [tx, rx] = channel<string>(8);
 * const self = tx.downgrade(); // the actor's handle to its own mailbox
 * const strong = self.upgrade();
 * if (strong !== undefined) { await strong.send("tick"); strong.close(); }
 * tx.close(); // the last strong handle: rx ends after "tick", weak handles or not
 * console.log(await rx.recv(), await rx.recv(), self.upgrade()); // "tick" undefined undefined
 * ```
 */
export class WeakSender<T> {
  #chan: Chan<T>;
  #open = true;
  /** Makes a strong handle: `sender.ts` passes it, so this file does not import the Sender class. */
  #strong: (chan: Chan<T>) => Sender<T>;

  /** @internal Weak handles come from `Sender.downgrade()` and `WeakSender.clone()`. */
  constructor(chan: Chan<T>, strong: (chan: Chan<T>) => Sender<T>) {
    this.#chan = chan;
    this.#strong = strong;
    chan.weakSenders++;
  }

  /**
   * A new strong {@link Sender} for the channel, if a strong handle is still open; `undefined` once
   * every one closed (the channel cannot be reopened) or once this weak handle is closed. As in
   * Tokio, a closed receiver does not stop it: the sender then reports `isClosed` and refuses values.
   *
   * @example
   * ```ts
   * const tx = weak.upgrade();
   * if (tx === undefined) return; // the channel has ended
   * try { await tx.send(msg); } finally { tx.close(); }
   * ```
   */
  upgrade(): Sender<T> | undefined {
    const chan = this.#chan;
    if (!this.#open || chan.senders === 0) return undefined;
    chan.addSender();
    return this.#strong(chan);
  }

  /**
   * Another weak handle to the same channel.
   *
   * @throws Error if this handle is closed.
   *
   * @example
   * ```ts
   * const forWorker = weak.clone();
   * ```
   */
  clone(): WeakSender<T> {
    if (!this.#open) throw new Error("cannot clone a closed WeakSender handle");
    return new WeakSender(this.#chan, this.#strong);
  }

  /**
   * Forgets this weak handle (idempotent): {@link WeakSender.weakCount} falls by one and `upgrade`
   * answers `undefined`. The channel itself is not affected.
   *
   * @example
   * ```ts
   * weak.close();
   * console.log(weak.upgrade()); // undefined
   * ```
   */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#chan.weakSenders--;
  }

  /** Same as {@link WeakSender.close}, for `using weak = tx.downgrade()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Open {@link Sender} handles of the channel.
   *
   * @example
   * ```ts
   * if (weak.strongCount === 0) console.log("the channel has ended");
   * ```
   */
  get strongCount(): number {
    return this.#chan.senders;
  }

  /**
   * Open (not closed) weak handles of the channel, this one included while open.
   *
   * @example
   * ```ts
   * const [tx] = channel<number>(1);
   * const weak = tx.downgrade();
   * console.log(weak.weakCount, weak.clone().weakCount); // 1 2
   * ```
   */
  get weakCount(): number {
    return this.#chan.weakSenders;
  }
}
