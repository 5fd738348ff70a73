/**
 * The one queue/waiter core behind every channel, bounded and unbounded alike (the faces in
 * `sender.ts`, `receiver.ts` and `permit.ts` are thin wrappers over it, as in Tokio's `chan.rs`).
 *
 * Invariants:
 * - `free = bound - buffer.length - reserved` slots are free; senders park only while `free === 0`,
 *   and a freed slot is granted at once to the first parked sender (no barging: a `trySend` that
 *   arrives after the slot was freed sees "full"). A parked `reserveMany(n)` at the head of the line
 *   takes each freed slot into `reserved` until it holds `n`, so this stays true for it too.
 * - receivers park only while the buffer is empty; a value sent then goes straight to the first
 *   parked receiver without passing through the buffer.
 * - the channel is finished for the receiver when the buffer is empty, no permit is outstanding and
 *   either every sender handle is closed or the receiver itself closed. Weak sender handles are
 *   counted (`weakSenders`) but never keep it open, and once `senders` is 0 nothing raises it again.
 *
 * @internal
 */
import { SendError } from "./errors.js";
import { timeWait } from "./events.js";
import { macrotask } from "./macrotask.js";
import type { ChannelMetrics } from "./metrics.js";
import { Ring } from "./ring.js";
import { UNDEFINED_VALUE } from "./validate.js";
import {
  type AbortSink,
  ManyWaiter,
  NEXT,
  RECV,
  RECV_MANY,
  RESERVE,
  RESERVE_MANY,
  SEND,
  Waiter,
  WaitList,
} from "./waiters.js";

/** Operations that complete at once in a row before one of them yields to the macrotask queue. */
const BUDGET = 1024;
let budget = BUDGET;

const RESOLVED: Promise<void> = Promise.resolve();

/** The result of an async iterator's `next()` at the end of the channel. */
export const ITERATION_DONE: IteratorReturnResult<undefined> = Object.freeze({
  done: true,
  value: undefined,
});

/**
 * A promise of `value`, resolved now, except that once every {@link BUDGET} immediate completions it
 * resolves on the next macrotask ({@link macrotask}): a producer and consumer that never need to wait would otherwise chain
 * microtasks forever and starve timers and I/O (Tokio's cooperative budget plays the same role).
 */
export function ready<R>(value: R): Promise<R> {
  if (--budget > 0) return Promise.resolve(value);
  budget = BUDGET;
  return new Promise<R>((resolve) => macrotask(() => resolve(value)));
}

/**
 * A promise rejected with `reason`, on the same budget as {@link ready}: a loop that keeps asking a
 * closed channel (and handles the error) must not starve the event loop either.
 */
export function readyRejection(reason: unknown): Promise<never> {
  if (--budget > 0) return Promise.reject(reason);
  budget = BUDGET;
  return new Promise<never>((_, reject) => macrotask(() => reject(reason)));
}

/** {@link ready} for `void`, sharing one resolved promise on the fast path. */
export function readyVoid(): Promise<void> {
  if (--budget > 0) return RESOLVED;
  budget = BUDGET;
  return new Promise<void>((resolve) => macrotask(resolve));
}

/** Why a channel stopped accepting values, for the {@link SendError}s it gives back. */
export interface ClosedBy {
  /** The message of those errors. */
  readonly message: string;
  /** Their `cause`. */
  readonly cause: unknown;
}

/** Admission of a value or a reservation: a slot is free and taken. */
export const ADMITTED = 0;
/** Admission: no free slot now (or senders already wait in line for one). */
export const FULL = 1;
/** Admission: the receiver side is closed for good. */
export const REFUSED = 2;
/** What {@link Chan.offer} and {@link Chan.admit} answer. */
export type Admission = typeof ADMITTED | typeof FULL | typeof REFUSED;

/** A parked `send` (or a select's send) of a `T`. */
export type SendWaiter<T> = Waiter<typeof SEND, T, void>;
/**
 * A parked `reserve`: its payload is its grant, which wraps the slot it is given into what it
 * resolves with (a permit: the core knows nothing of what that is).
 */
export type ReserveWaiter = Waiter<typeof RESERVE, () => unknown, unknown>;
/** What waits in a channel's line of senders: sends, reserves and `reserveMany`s. */
export type SendSide<T> = SendWaiter<T> | ReserveWaiter | ManyWaiter;

/** A parked `recv` (or a select's receive): a value, or `undefined` at the end. */
export type RecvWaiter<T> = Waiter<typeof RECV, undefined, T | undefined>;
/** A parked `recvMany(limit)`: the values, `[]` at the end. */
export type RecvManyWaiter<T> = Waiter<typeof RECV_MANY, number, T[]>;
/** A parked async-iterator `next()`, settled with its `IteratorResult` directly. */
export type NextWaiter<T> = Waiter<typeof NEXT, undefined, IteratorResult<T, undefined>>;
/** What waits in a channel's line of receivers. */
export type RecvSide<T> = RecvWaiter<T> | RecvManyWaiter<T> | NextWaiter<T>;

/** A new waiter for the send of `value` (not yet in any line). */
export function sendWaiter<T>(value: T, signal: AbortSignal | undefined): SendWaiter<T> {
  return new Waiter(SEND, value, signal);
}

/** A new waiter for a receive (not yet in any line). */
export function recvWaiter<T>(signal: AbortSignal | undefined): RecvWaiter<T> {
  return new Waiter(RECV, undefined, signal);
}

/** The buffer of every channel that never buffers: always empty, never pushed to. */
const NEVER_PUSHED = new Ring<never>(0);

/**
 * The receive line of every channel that has no receiver (a {@link Chan} made with ring size 0):
 * always empty. A receive parked on one would be a bug that mixes up channels, so it throws instead.
 */
class NoReceivers extends WaitList<never> {
  override push(): void {
    throw new Error("grpc-mpsc internal error: a receive on a channel that has no receiver");
  }

  override add(): void {
    this.push();
  }
}
const NO_RECEIVERS = new NoReceivers();

/** The shared state of one channel. */
export class Chan<T> implements AbortSink<SendSide<T> | RecvSide<T>> {
  readonly buffer: Ring<T>;
  /** Slots taken by permits not yet used or released. */
  reserved = 0;
  /** Open sender handles. */
  senders = 1;
  /** Open weak sender handles: counted for `weakCount` only, they do not keep the channel open. */
  weakSenders = 0;
  /** The receiver closed (or the channel failed): no new value is accepted. */
  rxClosed = false;
  /** A sender aborted the channel: once drained, the receiver rejects with `failure`. */
  failed = false;
  failure: unknown;
  /** Why the receiver side closed, when something other than the receiver closed it. */
  closedBy: ClosedBy | undefined;
  /** Values that went in (buffered or handed to a receiver), for {@link Chan.metrics}. */
  sent = 0;
  /** Values that came out to a receiver. */
  received = 0;
  readonly sendWaiters = new WaitList<SendSide<T>>();
  readonly recvWaiters: WaitList<RecvSide<T>>;
  #closedPromise: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;

  /**
   * @param ringSize the buffer's initial size (it grows up to `bound` as needed); 0 for a channel that
   * never buffers and has no receiver (its `deliver` hands every value on, as a {@link SinkChan}'s),
   * which then shares one empty ring and one empty receive line with every other such channel rather
   * than hold its own (one per open gRPC stream's writer is many).
   */
  constructor(
    readonly bound: number,
    ringSize = Math.min(bound, 16),
  ) {
    this.buffer = ringSize === 0 ? (NEVER_PUSHED as Ring<T>) : new Ring<T>(ringSize);
    this.recvWaiters = ringSize === 0 ? (NO_RECEIVERS as WaitList<RecvSide<T>>) : new WaitList<RecvSide<T>>();
  }

  /** Values an overflow policy dropped (none: this channel waits instead). */
  get dropped(): number {
    return 0;
  }

  /** Free slots now. */
  get free(): number {
    return this.bound - this.buffer.length - this.reserved;
  }

  /** Closed, drained and no permit outstanding: `recv` reports the end. */
  get finished(): boolean {
    return this.buffer.length === 0 && this.reserved === 0 && (this.senders === 0 || this.rxClosed);
  }

  /** Why `value` can never go through this channel (`undefined`: the end marker), or `undefined` if it can. */
  unfit(value: T): TypeError | undefined {
    return value === undefined ? new TypeError(UNDEFINED_VALUE) : undefined;
  }

  /**
   * The one admission check, for values and reservations alike: refused once the receiver side is
   * closed, full while no slot is free (parked senders hold the freed slots, so nobody barges).
   */
  admission(): Admission {
    if (this.rxClosed) return REFUSED;
    return this.free > 0 ? ADMITTED : FULL;
  }

  /** Puts `value` into the channel if it is admitted now; never waits. */
  offer(value: T): Admission {
    const admission = this.admission();
    if (admission === ADMITTED) this.deliver(value);
    return admission;
  }

  /** Takes a slot for a permit if one is admitted now; never waits. */
  admit(): Admission {
    const admission = this.admission();
    if (admission === ADMITTED) this.reserved++;
    return admission;
  }

  /**
   * Takes `n` slots at once for `reserveMany` if they are all free now; never waits. While senders
   * wait in line no slot is free, so a request for more than is free never jumps the line.
   */
  admitMany(n: number): Admission {
    if (this.rxClosed) return REFUSED;
    if (this.free < n) return FULL;
    this.reserved += n;
    return ADMITTED;
  }

  /** One more sender handle. */
  addSender(): void {
    this.senders++;
  }

  /** Hands `value` to the first parked receiver, or buffers it. The caller has accounted for the slot. */
  deliver(value: T): void {
    this.sent++;
    const w = this.recvWaiters.shift();
    if (w === null) {
      this.buffer.push(value);
      return;
    }
    this.received++;
    if (w.kind === RECV) w.resolve(value);
    else if (w.kind === NEXT) w.resolve({ done: false, value });
    else w.resolve([value]);
  }

  /** Parks a `send` of `value` (the caller checked that no slot is free). */
  parkSend(value: T, signal: AbortSignal | undefined): Promise<void> {
    const w = this.enlistSend(sendWaiter(value, signal));
    const parked = w.park();
    timeWait(w, "send", this.bound);
    return parked;
  }

  /** Queues a parked send or reserve (or a select's send) behind the others and watches its signal. */
  enlistSend<W extends SendSide<T>>(w: W): W {
    this.sendWaiters.add(w, this);
    return w;
  }

  /** The error that gives back a value this channel refuses (`message` overrides the default). */
  refusal(value: unknown, message?: string): SendError<unknown> {
    const by = this.closedBy;
    if (message !== undefined || by === undefined) return new SendError(value, message);
    return new SendError(value, by.message, { cause: by.cause });
  }

  /** `{ cause }` for an error about this closed channel, when something ended it. */
  closedCause(): ErrorOptions | undefined {
    return this.closedBy === undefined ? undefined : { cause: this.closedBy.cause };
  }

  /**
   * The promise a send method hands its caller, made from `promise`: the channel's own, here; a
   * channel drained into a call reports its refusal when nobody handles it ({@link SinkChan}).
   */
  track<R>(promise: Promise<R>): Promise<R> {
    return promise;
  }

  /** A rejected promise of {@link Chan.refusal}. */
  refuse(value: unknown, message?: string): Promise<never> {
    return Promise.reject(this.refusal(value, message));
  }

  /**
   * Parks a `reserve`: when a slot is granted it is taken (`reserved`) and the promise resolves with
   * `grant()`, which wraps the slot (the core knows nothing of what a permit is).
   */
  parkReserve<P>(signal: AbortSignal | undefined, grant: () => P): Promise<P> {
    const w = this.enlistSend(new Waiter<typeof RESERVE, () => P, P>(RESERVE, grant, signal));
    const parked = w.park();
    timeWait(w, "reserve", this.bound);
    return parked;
  }

  /**
   * Parks a `reserveMany(n)` (the caller checked that fewer than `n` slots are free): at the head of
   * the line it takes the free slots at once and waits for the rest; `grant()` wraps all `n`.
   */
  parkReserveMany<P>(n: number, signal: AbortSignal | undefined, grant: () => P): Promise<P> {
    const w = this.enlistSend(new ManyWaiter(n, grant, signal));
    const promise = w.park();
    timeWait(w, "reserve", this.bound);
    this.grant();
    return promise;
  }

  /** Parks a `recv`. */
  parkRecv(signal: AbortSignal | undefined): Promise<T | undefined> {
    return this.#enlistRecv(recvWaiter<T>(signal)).park();
  }

  /** Parks a `recvMany(limit)`. */
  parkRecvMany(limit: number, signal: AbortSignal | undefined): Promise<T[]> {
    return this.#enlistRecv(new Waiter<typeof RECV_MANY, number, T[]>(RECV_MANY, limit, signal)).park();
  }

  /** Parks an async iterator's `next()`, settled with an `IteratorResult` (no `.then` hop to wrap a value). */
  parkNext(): Promise<IteratorResult<T, undefined>> {
    const w = new Waiter<typeof NEXT, undefined, IteratorResult<T, undefined>>(NEXT, undefined, undefined);
    this.recvWaiters.push(w);
    return w.park();
  }

  /** Queues a parked receive behind the others and watches its signal. */
  #enlistRecv<W extends RecvSide<T>>(w: W): W {
    this.recvWaiters.add(w, this);
    return w;
  }

  /** Grants freed slots to parked senders, first come first served. */
  grant(): void {
    while (this.free > 0) {
      const head = this.sendWaiters.head;
      if (head === null) return;
      // A reserveMany at the head keeps what is free and stays there until it holds all it needs.
      if (head.kind === RESERVE_MANY && !this.#fill(head)) return;
      this.sendWaiters.shift();
      if (head.kind === SEND) {
        this.deliver(head.value);
        head.resolve(undefined);
      } else {
        if (head.kind === RESERVE) this.reserved++;
        // A completed reserveMany's slots are its permits' now: it holds nothing it could give back.
        else head.held = 0;
        head.resolve(head.value());
      }
    }
  }

  /** Gives a parked reserveMany the free slots it still needs; whether it now holds them all. */
  #fill(w: ManyWaiter): boolean {
    const taken = Math.min(this.free, w.need - w.held);
    w.held += taken;
    this.reserved += taken;
    return w.held === w.need;
  }

  /** A reserveMany that will not complete gives back the slots it held. */
  #giveBack(w: SendSide<T>): void {
    if (w.kind !== RESERVE_MANY) return;
    this.reserved -= w.held;
    w.held = 0;
  }

  /** Takes the head of the buffer (the caller checked it is not empty) and refills from parked senders. */
  take(): T {
    this.received++;
    const value = this.buffer.shift();
    if (this.sendWaiters.head !== null) this.grant();
    return value;
  }

  /** Takes up to `limit` buffered values (the caller checked there is one) and refills. */
  takeMany(limit: number): T[] {
    const values = this.buffer.shiftMany(limit);
    this.received += values.length;
    if (this.sendWaiters.head !== null) this.grant();
    return values;
  }

  /** A permit's slot comes back unused, or was used: refill, and wake receivers if that was the end. */
  permitDone(): void {
    this.reserved--;
    this.grant();
    this.wakeIfFinished();
  }

  /** Resolves every parked receiver with the end marker once the channel is finished. */
  wakeIfFinished(): void {
    if (this.recvWaiters.head === null || !this.finished) return;
    for (let w = this.recvWaiters.shift(); w !== null; w = this.recvWaiters.shift()) {
      if (this.failed) w.reject(this.failure);
      else if (w.kind === RECV) w.resolve(undefined);
      else if (w.kind === NEXT) w.resolve(ITERATION_DONE);
      else w.resolve([]);
    }
  }

  /** One sender handle closed. */
  dropSender(): void {
    this.senders--;
    this.wakeIfFinished();
  }

  /**
   * The receiver closed: refuse new values, give parked senders their values back. `by` says why,
   * when the receiver side closed because something ended (the errors given back carry it).
   */
  closeReceiver(by?: ClosedBy): void {
    if (this.rxClosed) return;
    this.rxClosed = true;
    this.closedBy = by;
    for (let w = this.sendWaiters.shift(); w !== null; w = this.sendWaiters.shift()) {
      this.#giveBack(w);
      // A parked reserve's value is its grant factory, not a value of the sender's: none comes back.
      w.reject(this.refusal(w.kind === SEND ? w.value : undefined));
    }
    this.#resolveClosed?.();
    this.wakeIfFinished();
  }

  /** Fails the channel (the first reason wins): new values are refused, buffered ones stay receivable. */
  fail(reason: unknown): void {
    if (this.rxClosed) return;
    this.failed = true;
    this.failure = reason;
    this.closeReceiver({ message: "channel aborted by a sender", cause: reason });
  }

  /** What a receive reports at the end: the end marker, or the failure. */
  end<R>(marker: R): Promise<R> {
    return this.failed ? Promise.reject(this.failure) : Promise.resolve(marker);
  }

  /** A snapshot of this channel's counters (made only when asked for). */
  metrics(): ChannelMetrics {
    return {
      len: this.buffer.length,
      maxCapacity: this.bound,
      waitingSenders: this.sendWaiters.count(),
      waitingReceivers: this.recvWaiters.count(),
      sent: this.sent,
      received: this.received,
      dropped: this.dropped,
    };
  }

  /** Resolves when the receiver is closed. */
  closed(): Promise<void> {
    if (this.rxClosed) return RESOLVED;
    this.#closedPromise ??= new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    return this.#closedPromise;
  }

  /**
   * The last reference to a sender handle was collected while it was open. A plain channel treats
   * it as a close, like a dropped Tokio sender; a channel whose other end has its own lifetime
   * (a gRPC call's) may decide otherwise.
   */
  senderCollected(): void {
    this.dropSender();
  }

  /** The receiver was collected while open: a plain channel closes it, so senders stop waiting. */
  receiverCollected(): void {
    this.closeReceiver();
  }

  /**
   * A parked operation's signal aborted, and its list unlinked it: nothing was taken or enqueued.
   * (`NoInfer`: this parameter must not be where `new Receiver(chan)` infers its `T` from a subclass
   * of `Chan<T>`, or the receive's `T | undefined` would widen it.)
   */
  abortWaiter(w: NoInfer<SendSide<T> | RecvSide<T>>, reason: unknown): void {
    w.reject(reason);
    if (w.kind === RESERVE_MANY && w.held > 0) {
      // The slots it held go to the next in line.
      this.#giveBack(w);
      this.grant();
    }
    // A parked send, reserve or reserveMany may have been the last thing the channel waited for (every
    // sender closed while it was parked): then the channel is finished now, and its end is told.
    if (w.kind === SEND || w.kind === RESERVE || w.kind === RESERVE_MANY) this.wakeIfFinished();
  }
}
