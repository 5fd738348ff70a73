import { type Chan, ITERATION_DONE, ready } from "./chan.js";
import type { ChannelMetrics } from "./metrics.js";
import { RecvOp, type SelectOp } from "./select-op.js";
import type { WaitOptions } from "./sender.js";
import { positiveInteger } from "./validate.js";
import { abortedAlready } from "./waiters.js";

/**
 * What {@link Receiver.tryRecv} returns: a value, or why there is none. `"empty"` means nothing is
 * buffered now but more may come; `"closed"` means the channel is closed and drained for good.
 */
export type TryRecvResult<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      /** `"empty"`: nothing buffered now (also while a permit reserved before a close is out); `"closed"`: closed and drained for good. */
      readonly reason: "empty" | "closed";
    };

const NOTHING_NOW: TryRecvResult<never> = Object.freeze({ ok: false, reason: "empty" });
const NOTHING_EVER: TryRecvResult<never> = Object.freeze({ ok: false, reason: "closed" });
/** What `recv` resolves with at the end of a channel that was not aborted. */
const RECV_END: Promise<undefined> = Promise.resolve(undefined);

/**
 * The receiving half of a channel: one consumer. Values come out in the order they went in.
 *
 * Leaving a `for await` loop early (break, return or throw) closes the receiver, so producers learn
 * at once that nobody listens (their `send` rejects with {@link SendError}, `closed()` resolves).
 *
 * @example
 * ```ts
 * for await (const job of rx) {
 *   if (job.kind === "stop") break; // closes rx: waiting senders get their values back
 *   await handle(job);
 * }
 * ```
 */
export class Receiver<T> implements AsyncIterable<T> {
  #chan: Chan<T>;

  /** @internal Receivers come from `channel()` and `unboundedChannel()`. */
  constructor(chan: Chan<T>) {
    this.#chan = chan;
    receivers.register(this, chan, this);
  }

  /**
   * Receives the next value, waiting while the channel is empty.
   *
   * @returns the value, or `undefined` once the channel is closed (every sender handle closed, or
   * this receiver closed), drained and no permit is outstanding. Rejects with `signal.reason` if the
   * wait is aborted (an aborted `recv` consumes nothing), and with the reason given to
   * {@link Sender.abort} once a failed channel is drained.
   *
   * @example
   * ```ts
   * let msg: string | undefined;
   * while ((msg = await rx.recv()) !== undefined) console.log(msg);
   * ```
   */
  recv(options?: WaitOptions): Promise<T | undefined> {
    const chan = this.#chan;
    const signal = options?.signal;
    const aborted = abortedAlready(signal);
    if (aborted !== undefined) return aborted;
    if (chan.buffer.length > 0) return ready<T | undefined>(chan.take());
    if (chan.finished) return chan.failed ? chan.end(undefined) : RECV_END;
    return chan.parkRecv(signal);
  }

  /**
   * Receives a value if one is buffered, without waiting.
   *
   * @returns `{ ok: true, value }`, or `{ ok: false, reason }` where `reason` is `"empty"` (nothing
   * now; also while a permit reserved before a close is outstanding) or `"closed"` (closed and drained).
   * @throws the reason given to {@link Sender.abort}, where `"closed"` would be reported for a failed channel.
   *
   * @example
   * ```ts
   * const r = rx.tryRecv();
   * if (r.ok) use(r.value);
   * else if (r.reason === "closed") finish();
   * ```
   */
  tryRecv(): TryRecvResult<T> {
    const chan = this.#chan;
    if (chan.buffer.length > 0) return { ok: true, value: chan.take() };
    if (!chan.finished) return NOTHING_NOW;
    if (chan.failed) throw chan.failure;
    return NOTHING_EVER;
  }

  /**
   * Waits for at least one value, then takes up to `limit` buffered values at once.
   *
   * @returns 1 to `limit` values in order, or `[]` once the channel is closed and drained.
   * @throws RangeError (as a rejection) if `limit` is not an integer >= 1.
   *
   * @example
   * ```ts
   * for (let batch = await rx.recvMany(100); batch.length > 0; batch = await rx.recvMany(100)) {
   *   await db.insertMany(batch);
   * }
   * ```
   */
  recvMany(limit: number, options?: WaitOptions): Promise<T[]> {
    try {
      positiveInteger(limit, "limit");
    } catch (err) {
      return Promise.reject(err);
    }
    const chan = this.#chan;
    const signal = options?.signal;
    const aborted = abortedAlready(signal);
    if (aborted !== undefined) return aborted;
    if (chan.buffer.length > 0) return ready(chan.takeMany(limit));
    if (chan.finished) return chan.end<T[]>([]);
    return chan.parkRecvMany(limit, signal);
  }

  /**
   * Closes the receiver (idempotent): no new value is accepted, waiting senders are rejected with
   * {@link SendError} carrying their values, and what is already buffered (or sent through a permit
   * reserved before the close) can still be received.
   */
  close(): void {
    this.#chan.closeReceiver();
  }

  /**
   * The receive of the next value as an operation for {@link select}: if another operation of the
   * select completes first, this one took nothing. It completes with the value, with `undefined` at
   * the end of the channel, or with the failure of an aborted channel (the select rejects).
   *
   * @example
   * ```ts
   * const got = await select([jobs.recvOp(), control.recvOp()]);
   * if (got.index === 0) await run(got.value);
   * ```
   */
  recvOp(): SelectOp<T | undefined> {
    return new RecvOp(this.#chan);
  }

  /**
   * A snapshot of the channel's counters, as {@link Sender.metrics}.
   *
   * @example
   * ```ts
   * setInterval(() => gauge.record(rx.metrics().len), 1000);
   * ```
   */
  metrics(): ChannelMetrics {
    return this.#chan.metrics();
  }

  /** Same as {@link Receiver.close}, for `using rx = ...`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Number of buffered values. Closing does not change it. */
  get len(): number {
    return this.#chan.buffer.length;
  }

  /** Values the channel's overflow policy dropped so far (always 0 with the default, `"wait"`). */
  get dropped(): number {
    return this.#chan.dropped;
  }

  /**
   * Open {@link Sender} handles of the channel (Tokio's `sender_strong_count`).
   *
   * @example
   * ```ts
   * const [tx, rx] = channel<number>(1);
   * tx.clone();
   * console.log(rx.senderStrongCount); // 2
   * ```
   */
  get senderStrongCount(): number {
    return this.#chan.senders;
  }

  /**
   * Open {@link WeakSender} handles of the channel (Tokio's `sender_weak_count`).
   *
   * @example
   * ```ts
   * const [tx, rx] = channel<number>(1);
   * tx.downgrade();
   * console.log(rx.senderWeakCount); // 1
   * ```
   */
  get senderWeakCount(): number {
    return this.#chan.weakSenders;
  }

  /** Whether no value is buffered. */
  get isEmpty(): boolean {
    return this.#chan.buffer.length === 0;
  }

  /**
   * `true` once no new value can be accepted: this receiver closed, or every sender handle closed and
   * no permit is outstanding and no send parked before its handle closed (those can still deliver, as
   * `recv` knows: Tokio counts a permit as a sender).
   */
  get isClosed(): boolean {
    const chan = this.#chan;
    // A send or reserve parked before its handle closed still delivers: not closed while one waits.
    return chan.rxClosed || (chan.senders === 0 && chan.reserved === 0 && chan.sendWaiters.head === null);
  }

  /**
   * Iterates until the channel ends. Leaving the loop early closes the receiver.
   */
  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return new ReceiverIterator(this.#chan, this);
  }
}

/**
 * A receiver's async iterator. A class, not an object literal with two closures: a stream parked in
 * `for await` holds one for as long as it lives.
 */
class ReceiverIterator<T> implements AsyncIterator<T, undefined> {
  constructor(
    private readonly chan: Chan<T>,
    /** Held so that the receiver is not collected (and closed) mid-loop. */
    private readonly receiver: Receiver<T>,
  ) {}

  next(): Promise<IteratorResult<T, undefined>> {
    const chan = this.chan;
    if (chan.buffer.length > 0)
      return ready<IteratorResult<T, undefined>>({ done: false, value: chan.take() });
    if (chan.finished) return chan.end(ITERATION_DONE);
    return chan.parkNext();
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.receiver.close();
    return Promise.resolve(ITERATION_DONE);
  }
}

/** A receiver that is garbage-collected unclosed closes, so senders do not wait for nobody. */
const receivers = new FinalizationRegistry<Chan<unknown>>((chan) => chan.receiverCollected());
