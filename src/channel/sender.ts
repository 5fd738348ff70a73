import { ADMITTED, type Chan, FULL, REFUSED, ready, readyVoid } from "./chan.js";
import { SendError, SendTimeoutError, TrySendError } from "./errors.js";
import type { ChannelMetrics } from "./metrics.js";
import { Permit } from "./permit.js";
import { type SelectOp, SendOp } from "./select-op.js";
import { integerFrom, invalid } from "./validate.js";
import { abortedAlready } from "./waiters.js";

/** The most elements a JavaScript array holds, so the most permits one `reserveMany` hands back. */
const LONGEST_ARRAY = 2 ** 32 - 1;
/** The longest delay a JavaScript timer keeps (2^31 - 1 ms); a longer one fires at once. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;
/** The abort reason of a {@link Sender.sendTimeout} whose time ran out: nobody else can make it. */
const TIMED_OUT: unique symbol = Symbol("sendTimeout timed out");

/** Options of the waiting operations. */
export interface WaitOptions {
  /** Aborts the wait: the operation rejects with `signal.reason` and takes or enqueues nothing. */
  signal?: AbortSignal;
}

const HANDLE_CLOSED = "this Sender handle is closed";
const NO_REASON = "the channel was aborted: Sender.abort() was called without a reason";

/**
 * The sending half of a channel. Clone it to have several producers; the receiver sees the end of
 * the channel once every handle is closed.
 *
 * @example
 * ```ts
 * const [tx, rx] = channel<string>(4);
 * const tx2 = tx.clone();
 * void (async () => { await tx.send("a"); tx.close(); })();
 * void (async () => { await tx2.send("b"); tx2.close(); })();
 * for await (const v of rx) console.log(v); // "a" and "b", then the loop ends
 * ```
 */
export class Sender<T> {
  #chan: Chan<T>;
  #open = true;

  /** @internal Senders come from `channel()`, `unboundedChannel()` and `clone()`. */
  constructor(chan: Chan<T>) {
    this.#chan = chan;
    senders.register(this, chan, this);
  }

  /**
   * Sends `value`, waiting while the channel is full. Waiting senders are served in FIFO order.
   *
   * @returns a promise that resolves once the value is in the channel (buffered or handed to the receiver).
   * It rejects with {@link SendError} (carrying `value`) if the receiver is closed or this handle is
   * closed, with `signal.reason` if the wait is aborted (then nothing was enqueued), and with a
   * `TypeError` for a value the channel cannot carry (`undefined`, the end marker; `null` on a gRPC call).
   *
   * @example
   * ```ts
   * try {
   *   await tx.send(msg, { signal: AbortSignal.timeout(1000) });
   * } catch (err) {
   *   if (err instanceof SendError) return; // nobody listens any more
   *   throw err;                            // timed out: msg was not enqueued
   * }
   * ```
   */
  send(value: T, options?: WaitOptions): Promise<void> {
    const chan = this.#chan;
    if (!this.#open) return chan.refuse(value, HANDLE_CLOSED);
    const unfit = chan.unfit(value);
    if (unfit !== undefined) return Promise.reject(unfit);
    const signal = options?.signal;
    const aborted = abortedAlready(signal);
    if (aborted !== undefined) return aborted;
    const admission = chan.offer(value);
    if (admission === ADMITTED) return readyVoid();
    if (admission === REFUSED) return chan.refuse(value);
    return chan.parkSend(value, signal);
  }

  /**
   * Sends `value`, waiting at most `ms` milliseconds while the channel is full (Tokio's
   * `send_timeout`). The timer is armed only if the send has to wait, and it keeps the process
   * alive while it runs, as any `setTimeout` does: a script that awaits a `sendTimeout` gets its
   * answer. What it adds to `send(value, { signal: AbortSignal.timeout(ms) })` is that timer and the
   * typed refusal, which gives the value back either way.
   *
   * @returns a promise that resolves once the value is in the channel. It rejects with
   * {@link SendTimeoutError} carrying `value`, `kind` `"timeout"` (the channel stayed full: nothing
   * was enqueued) or `"closed"` (receiver or this handle closed); with a `TypeError` for a value the
   * channel cannot carry; with a RangeError if `ms` is not a number of milliseconds from 0 to
   * 2147483647 (the longest timer a JavaScript runtime keeps).
   *
   * @example
   * ```ts
   * try {
   *   await tx.sendTimeout(reading, 50);
   * } catch (err) {
   *   if (err instanceof SendTimeoutError && err.kind === "timeout") stale++; // the reader is behind
   *   else throw err;
   * }
   * ```
   */
  sendTimeout(value: T, ms: number): Promise<void> {
    const chan = this.#chan;
    if (typeof ms !== "number" || !(ms >= 0 && ms <= LONGEST_TIMER_MS)) {
      return Promise.reject(invalid("ms", "a number of milliseconds from 0 to 2147483647", ms));
    }
    const unfit = chan.unfit(value);
    if (unfit !== undefined) return Promise.reject(unfit);
    const admission = this.#open ? chan.offer(value) : REFUSED;
    if (admission === ADMITTED) return readyVoid();
    if (admission === REFUSED) {
      return chan.track(Promise.reject(new SendTimeoutError("closed", value, chan.closedCause())));
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(TIMED_OUT), ms);
    const sent = chan.parkSend(value, timeout.signal).then(
      () => clearTimeout(timer),
      (err: unknown) => {
        clearTimeout(timer);
        if (err === TIMED_OUT) throw new SendTimeoutError("timeout", value);
        if (err instanceof SendError) throw new SendTimeoutError("closed", value, chan.closedCause());
        throw err;
      },
    );
    return chan.track(sent);
  }

  /**
   * Sends `value` now or not at all.
   *
   * @throws {@link TrySendError} with `kind` `"full"` (no free slot, or senders are already waiting
   * for one) or `"closed"` (receiver or this handle closed), carrying `value` back.
   * @throws TypeError for a value the channel cannot carry (as `send`).
   */
  trySend(value: T): void {
    const chan = this.#chan;
    const unfit = chan.unfit(value);
    if (unfit !== undefined) throw unfit;
    const admission = this.#open ? chan.offer(value) : REFUSED;
    if (admission === FULL) throw new TrySendError("full", value);
    if (admission === REFUSED) throw new TrySendError("closed", value, chan.closedCause());
  }

  /**
   * Waits for a free slot and reserves it. Waits in the same FIFO line as `send`.
   *
   * @returns a {@link Permit}; rejects with {@link SendError} (value `undefined`) if the channel is
   * closed, or with `signal.reason` if aborted (then no slot is held).
   *
   * @example
   * ```ts
   * using permit = await tx.reserve(); // released at the end of the block if not used
   * permit.send(await expensiveValue());
   * ```
   */
  reserve(options?: WaitOptions): Promise<Permit<T>> {
    const chan = this.#chan;
    if (!this.#open) return Promise.reject(chan.refusal(undefined, HANDLE_CLOSED));
    const signal = options?.signal;
    const aborted = abortedAlready(signal);
    if (aborted !== undefined) return aborted;
    const admission = chan.admit();
    if (admission === ADMITTED) return ready(permitOf(chan));
    if (admission === REFUSED) return Promise.reject(chan.refusal(undefined));
    return chan.parkReserve(signal, () => permitOf(chan));
  }

  /**
   * Reserves a slot now or not at all.
   *
   * @throws {@link TrySendError} (value `undefined`) with `kind` `"full"` or `"closed"`.
   */
  tryReserve(): Permit<T> {
    const chan = this.#chan;
    const admission = this.#open ? chan.admit() : REFUSED;
    if (admission === ADMITTED) return permitOf(chan);
    if (admission === FULL) throw new TrySendError("full", undefined);
    throw new TrySendError("closed", undefined, chan.closedCause());
  }

  /**
   * Waits until `n` slots are free and reserves them all at once: `n` {@link Permit}s, each used or
   * released on its own (one released, disposed or collected unused gives its slot back). Waits in
   * the same FIFO line as `send` and `reserve`: at the head of the line it holds each slot as it is
   * freed until it has `n`, so nobody behind it takes them, and an aborted wait gives them back.
   * `n = 0` resolves with no permit at once, unless the channel is closed (Tokio's `reserve_many`).
   *
   * @returns the permits; rejects with {@link SendError} (value `undefined`) if the channel is or
   * becomes closed, with `signal.reason` if aborted (then no slot is held), and with a RangeError if
   * `n` is not an integer from 0 to {@link Sender.maxCapacity} (more could never be free at once).
   *
   * @example
   * ```ts
   * const [header, body] = await tx.reserveMany(2); // both or neither: the pair is never split
   * header.send(makeHeader());
   * body.send(makeBody());
   * ```
   */
  reserveMany(n: number, options?: WaitOptions): Promise<Permit<T>[]> {
    const chan = this.#chan;
    try {
      this.#count(n);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.#open) return Promise.reject(chan.refusal(undefined, HANDLE_CLOSED));
    const signal = options?.signal;
    const aborted = abortedAlready(signal);
    if (aborted !== undefined) return aborted;
    const admission = chan.admitMany(n);
    if (admission === ADMITTED) return ready(permitsOf(chan, n));
    if (admission === REFUSED) return Promise.reject(chan.refusal(undefined));
    return chan.parkReserveMany(n, signal, () => permitsOf(chan, n));
  }

  /**
   * Reserves `n` slots now, all or none (`n = 0`: no permit, unless the channel is closed).
   *
   * @throws {@link TrySendError} (value `undefined`) with `kind` `"full"` (fewer than `n` slots free,
   * or senders waiting in line) or `"closed"`.
   * @throws RangeError if `n` is not an integer from 0 to {@link Sender.maxCapacity}.
   *
   * @example
   * ```ts
   * const permits = tx.tryReserveMany(batch.length);
   * batch.forEach((item, i) => permits[i]?.send(item));
   * ```
   */
  tryReserveMany(n: number): Permit<T>[] {
    const chan = this.#chan;
    this.#count(n);
    const admission = this.#open ? chan.admitMany(n) : REFUSED;
    if (admission === ADMITTED) return permitsOf(chan, n);
    if (admission === FULL) throw new TrySendError("full", undefined);
    throw new TrySendError("closed", undefined, chan.closedCause());
  }

  /** Checks the `n` of `reserveMany`: no more than could ever be free at once. */
  #count(n: number): void {
    // And no more than an array holds: the permits come back as one.
    integerFrom(n, "n", 0, Math.min(this.#chan.bound, LONGEST_ARRAY));
  }

  /**
   * A new handle to the same channel; the channel stays open for the receiver while any handle is open.
   *
   * @throws Error if this handle is already closed.
   */
  clone(): Sender<T> {
    if (!this.#open) throw new Error("cannot clone a closed Sender handle");
    this.#chan.addSender();
    return senderOf(this.#chan);
  }

  /**
   * A {@link WeakSender} for this channel: it can {@link WeakSender.upgrade} to a strong handle while
   * one is open, but does not itself keep the channel open.
   *
   * @throws Error if this handle is already closed.
   *
   * @example
   * ```ts
   * const [tx, rx] = channel<string>(4);
   * const weak = tx.downgrade();
   * tx.close();
   * console.log(await rx.recv(), weak.upgrade()); // undefined undefined: the weak handle kept nothing open
   * ```
   */
  downgrade(): WeakSender<T> {
    if (!this.#open) throw new Error("cannot downgrade a closed Sender handle");
    return new WeakSender(this.#chan);
  }

  /**
   * Open {@link Sender} handles of the channel, this one included while open.
   *
   * @example
   * ```ts
   * const [tx] = channel<number>(1);
   * const tx2 = tx.clone();
   * console.log(tx.strongCount); // 2
   * ```
   */
  get strongCount(): number {
    return this.#chan.senders;
  }

  /**
   * Open {@link WeakSender} handles of the channel.
   *
   * @example
   * ```ts
   * const weak = tx.downgrade();
   * console.log(tx.weakCount); // 1
   * ```
   */
  get weakCount(): number {
    return this.#chan.weakSenders;
  }

  /**
   * Closes this handle (idempotent). Sends this handle already started still complete. When the last
   * handle closes, the receiver gets the buffered values and then the end.
   */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    senders.unregister(this);
    this.#chan.dropSender();
  }

  /**
   * Fails the channel and closes this handle: the receiver still gets every buffered value, then its
   * `recv`, `recvMany`, `tryRecv` and `for await` reject (or throw) with `reason` instead of ending.
   * New values are refused from every handle (waiting senders get {@link SendError} with their values),
   * as after a receiver close. The first reason wins. This is how a producer reports "the source
   * broke" rather than "the source ended", e.g. a gRPC call that failed mid-stream. Without a
   * reason (`undefined`), the receiver rejects with an `Error` saying so, never with `undefined`.
   *
   * @example
   * ```ts
   * try {
   *   for await (const line of readLines(file)) await tx.send(line);
   *   tx.close();
   * } catch (err) {
   *   tx.abort(err); // the consumer's for-await throws err after the lines read so far
   * }
   * ```
   */
  abort(reason: unknown): void {
    if (!this.#open) return;
    this.#chan.fail(reason === undefined ? new Error(NO_REASON) : reason);
    this.close();
  }

  /**
   * The send of `value` as an operation for {@link select}: it waits in the same FIFO line as
   * `send`, and if another operation of the select completes first, `value` was not enqueued.
   *
   * @throws TypeError for a value the channel cannot carry (as `send`).
   *
   * @example
   * ```ts
   * // Hand the job to whichever worker has room first.
   * const { index } = await select([worker1.sendOp(job), worker2.sendOp(job)]);
   * ```
   */
  sendOp(value: T): SelectOp<void> {
    const unfit = this.#chan.unfit(value);
    if (unfit !== undefined) throw unfit;
    return new SendOp(this.#chan, value, () => (this.#open ? undefined : HANDLE_CLOSED));
  }

  /**
   * A snapshot of the channel's counters: length, parked senders and receivers, totals sent,
   * received and dropped. A new plain object on each call (nothing is kept for it in between).
   *
   * @example
   * ```ts
   * const { len, waitingSenders } = tx.metrics();
   * if (waitingSenders > 0) console.log(`backpressure: ${waitingSenders} sends wait, ${len} buffered`);
   * ```
   */
  metrics(): ChannelMetrics {
    return this.#chan.metrics();
  }

  /** Same as {@link Sender.close}, for `using tx = ...`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Resolves when the receiver is closed (closed explicitly, or its `for await` loop left early):
   * a producer can stop work nobody will read.
   *
   * @example
   * ```ts
   * await Promise.race([tx.closed(), produceForever(tx)]);
   * ```
   */
  closed(): Promise<void> {
    return this.#chan.closed();
  }

  /** `true` once this handle cannot send any more: the receiver is closed, or this handle is. */
  get isClosed(): boolean {
    return !this.#open || this.#chan.rxClosed;
  }

  /** Free slots now (`Infinity` for an unbounded channel): each `send` and `reserve` takes one. */
  get capacity(): number {
    const free = this.#chan.free;
    return Math.max(free, 0);
  }

  /** The capacity the channel was created with (`Infinity` for an unbounded channel). Never changes. */
  get maxCapacity(): number {
    return this.#chan.bound;
  }

  /** Values the channel's overflow policy dropped so far (always 0 with the default, `"wait"`). */
  get dropped(): number {
    return this.#chan.dropped;
  }

  /** Whether `other` sends into the same channel as this handle. */
  sameChannel(other: Sender<T>): boolean {
    return other.#chan === this.#chan;
  }
}

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

  /** @internal Weak handles come from `Sender.downgrade()` and `WeakSender.clone()`. */
  constructor(chan: Chan<T>) {
    this.#chan = chan;
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
    return senderOf(chan);
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
    return new WeakSender(this.#chan);
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

/** A new handle for a channel whose sender count already includes it (clone, upgrade). */
function senderOf<T>(chan: Chan<T>): Sender<T> {
  return new Sender(chan);
}

/** The permit for a slot already taken: the one place a permit is made (the channel holds no handle). */
function permitOf<T>(chan: Chan<T>): Permit<T> {
  return new Permit(chan);
}

/** `n` permits for slots already taken. */
function permitsOf<T>(chan: Chan<T>, n: number): Permit<T>[] {
  const permits = new Array<Permit<T>>(n);
  for (let i = 0; i < n; i++) permits[i] = permitOf(chan);
  return permits;
}

/** A sender handle that is garbage-collected unclosed closes, like a dropped Tokio sender. */
const senders = new FinalizationRegistry<Chan<unknown>>((chan) => chan.senderCollected());
