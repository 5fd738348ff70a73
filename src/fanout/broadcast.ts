/**
 * `broadcast(capacity)`: every receiver gets every value sent after it subscribed, each value stored
 * once in a ring of `capacity` slots, whatever the number of receivers (Tokio's `sync::broadcast`).
 *
 * Positions: a value's position is its sequence number, the n-th value sent has position n (from 1,
 * or from the `first` a shared-log feed starts at); `tail` is the position of the next one. The ring
 * holds the last `capacity` positions, `[tail - capacity, tail)`; a receiver is a cursor, the
 * position it reads next. A cursor below the window lagged: it jumps to the window's start and
 * reports how far it jumped. `rem` counts, per slot, the receivers that have yet to read it, so a
 * value every receiver has read is released at once (and `BroadcastSender.len` is a binary search),
 * except the last `replay` positions, which stay for the receivers that subscribe later.
 *
 * A position can hold {@link HOLE} instead of a value: a feed from a shared log (the Redis adapter)
 * learnt that values were lost before it read them, and its receivers must hear it as a `Lagged`.
 *
 * @internal
 */

import { publishLag } from "../channel/events.js";
import {
  type AbortSink,
  abortedAlready,
  type Branch,
  ITERATION_DONE,
  integerFrom,
  NEXT,
  NOT_READY,
  positiveInteger,
  RECV,
  ready,
  SelectOp,
  SendError,
  type TryRecvResult,
  UNDEFINED_VALUE,
  Waiter,
  WaitList,
  type WaitOptions,
} from "../channel/index.js";
import { newEpoch } from "./epoch.js";
import { Lagged } from "./errors.js";
import type { BroadcastMetrics, BroadcastReceiverMetrics } from "./metrics.js";
import { ReceiverCount } from "./receiver-count.js";

const RECV_END: Promise<undefined> = Promise.resolve(undefined);
const NOTHING_NOW: TryRecvResult<never> = Object.freeze({ ok: false, reason: "empty" });
const NOTHING_EVER: TryRecvResult<never> = Object.freeze({ ok: false, reason: "closed" });
const NO_RECEIVERS = "broadcast channel has no receivers: the value was not stored";
const HANDLE_CLOSED = "this BroadcastSender handle is closed";
const ONE_AT_A_TIME =
  "a BroadcastReceiver receives one value at a time: await (or abort) the pending receive first, or resubscribe() for another consumer";

/** What {@link BroadcastReceiver.tryRecv} returns: a value, a gap, or why there is nothing now. */
export type BroadcastTryRecvResult<T> = TryRecvResult<T> | Lagged;

/** The largest capacity: slot indices are taken with 32-bit masks. */
const MAX_CAPACITY = 2 ** 30;

/** @internal What a position holds when its value was lost upstream (see {@link Shared.skip}). */
export const HOLE: unique symbol = Symbol("broadcast.hole");

/** Options of {@link broadcast}. */
export interface BroadcastOptions {
  /**
   * How many of the latest values a new receiver gets first (an integer from 0 to `capacity`;
   * default 0, Tokio's behaviour: a receiver gets only what is sent after it subscribed). These
   * values stay in the ring after every receiver has read them, and `send` stores a value even when
   * no receiver is subscribed (it is there for the next one) instead of throwing.
   */
  replay?: number;
}

/** Options of {@link BroadcastSender.subscribe}. */
export interface SubscribeOptions {
  /**
   * Resume: the sequence number of the first value wanted (typically the last one received, plus 1).
   * The receiver gets every value from there that the channel still holds; if some are gone, its first
   * receive is a {@link Lagged} with exactly how many, then it goes on with the oldest one held. An
   * integer from 1 to {@link BroadcastSender.nextSeq}; without it, the receiver starts with the
   * `replay` latest values.
   */
  from?: number;
}

/** @internal A parked `recv` of a broadcast receiver (or a select's): a value, a gap, or `undefined` at the end. */
export type BroadcastRecvWaiter<T> = Waiter<typeof RECV, Cursor<T>, T | Lagged | undefined>;
/** @internal A parked iterator `next()` of a broadcast receiver. */
export type BroadcastNextWaiter<T> = Waiter<typeof NEXT, Cursor<T>, IteratorResult<T | Lagged, undefined>>;
/** @internal What waits in a broadcast channel: the parked receive of a receiver, with its cursor. */
export type BroadcastWaiter<T> = BroadcastRecvWaiter<T> | BroadcastNextWaiter<T>;

/** @internal The state of one broadcast channel, shared by its handles (none of which it references). */
export class Shared<T> implements AbortSink<BroadcastWaiter<T>> {
  /** Slot `p & mask` holds position p; grown by appending up to a power of two >= capacity. */
  readonly ring: (T | undefined)[] = [];
  /** Receivers that have yet to read each slot. */
  readonly rem: number[] = [];
  readonly mask: number;
  /** The position of the next value sent. */
  tail = 0;
  readonly receivers = new ReceiverCount();
  senders = 1;
  /** Values missed by lagging receivers so far, all receivers together. */
  lagged = 0;
  /** The parked receive of each receiver that is waiting (one at most per receiver). */
  readonly waiters = new WaitList<BroadcastWaiter<T>>();

  /** The position of the first value ever sent: nothing below it was ever held. */
  readonly first: number;
  /** The feed's identity: which run of sequence numbers `first`, `tail` and the ring belong to. */
  readonly epoch: string;

  constructor(
    readonly capacity: number,
    /** How many of the latest positions are kept after every receiver has read them. */
    readonly replay = 0,
    first = 1,
    epoch: string = newEpoch(),
  ) {
    this.epoch = epoch;
    let size = 1;
    while (size < capacity) size *= 2;
    this.mask = size - 1;
    this.first = first;
    this.tail = first;
  }

  /** Stores `value` for every current receiver and wakes the waiting ones. */
  send(value: T): number {
    this.#store(value);
    if (this.waiters.head !== null) this.#wake();
    return this.receivers.count;
  }

  #store(value: T): void {
    const pos = this.tail;
    const idx = pos & this.mask;
    this.ring[idx] = value;
    this.rem[idx] = this.receivers.count;
    // With a ring larger than capacity, the value `capacity` positions back leaves the window here.
    const gone = pos - this.capacity;
    if (gone >= this.first) {
      const old = gone & this.mask;
      if (old !== idx) this.release(old);
    }
    // The position leaving the replay window is released if every receiver has read it.
    const kept = pos - this.replay;
    if (this.replay > 0 && kept >= this.first && kept > gone) {
      const k = kept & this.mask;
      if (this.rem[k] === 0) this.ring[k] = undefined;
    }
    this.tail = pos + 1;
  }

  /**
   * The next `count` positions were lost upstream: they are stored as holes (at most the ring's worth;
   * further back a receiver lags as usual), and a receiver reaching them gets one `Lagged` for them.
   */
  skip(count: number): void {
    if (count <= 0) return;
    if (count > this.capacity) {
      // Every value held leaves the window: forget them all, then hold `capacity` holes.
      for (let p = Math.max(this.first, this.tail - this.capacity); p < this.tail; p++)
        this.release(p & this.mask);
      this.tail += count - this.capacity;
      count = this.capacity;
    }
    for (let i = 0; i < count; i++) this.#store(HOLE as T);
    if (this.waiters.head !== null) this.#wake();
  }

  /** Forgets the value of slot `idx`. */
  release(idx: number): void {
    this.ring[idx] = undefined;
    this.rem[idx] = 0;
  }

  /** The gap of cursor `c` if it fell out of the window (and moves it to the window's start), else null. */
  lag(c: Cursor<T>): Lagged | null {
    const oldest = this.tail - this.capacity;
    if (c.next >= oldest && c.behind === 0) return null;
    let missed = c.behind;
    c.behind = 0;
    if (c.next < oldest) {
      missed += oldest - c.next;
      c.next = oldest;
    }
    return this.afterLag(c, missed);
  }

  /** Reads the value (or hole) at cursor `c`, which is inside the window, and moves on. */
  read(c: Cursor<T>): T {
    const idx = c.next & this.mask;
    const value = this.ring[idx] as T;
    const rem = (this.rem[idx] as number) - 1;
    this.rem[idx] = rem;
    // Past the replay window, a value every receiver has read is released at once.
    if (rem === 0 && c.next < this.tail - this.replay) this.ring[idx] = undefined;
    c.next++;
    return value;
  }

  /** The next item for cursor `c`, which is behind `tail`: its gap (lagged, or holes), or its next value. */
  take(c: Cursor<T>): T | Lagged {
    const lagged = this.lag(c);
    if (lagged !== null) return lagged;
    const value = this.read(c);
    if (value === HOLE) return this.holes(c, 1);
    c.received++;
    return value;
  }

  /** The gap of `missed` values that cursor `c` just jumped, with the holes that follow it. */
  afterLag(c: Cursor<T>, missed: number): Lagged {
    return c.next < this.tail && this.ring[c.next & this.mask] === HOLE
      ? this.holes(c, missed)
      : this.gap(c, missed);
  }

  /** Reads on through the run of holes at cursor `c`: one `Lagged` for `missed` plus the run. */
  holes(c: Cursor<T>, missed: number): Lagged {
    while (c.next < this.tail && this.ring[c.next & this.mask] === HOLE) {
      this.read(c);
      missed++;
    }
    return this.gap(c, missed);
  }

  /** The `Lagged` of `missed` values cursor `c` will not get, counted in the metrics and published. */
  gap(c: Cursor<T>, missed: number): Lagged {
    c.lagged += missed;
    this.lagged += missed;
    publishLag(missed, c.lagged, this.capacity);
    return new Lagged(missed);
  }

  /** Values sent that some receiver has yet to read (monotone over the window, hence the bisection). */
  get len(): number {
    const start = Math.max(this.first, this.tail - this.capacity);
    let lo = start;
    let hi = this.tail;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if ((this.rem[mid & this.mask] as number) === 0) lo = mid + 1;
      else hi = mid;
    }
    return this.tail - lo;
  }

  /**
   * A new receiver, reading from the next value sent. Once every sender is closed nothing more can be
   * sent, so it is closed at once and not counted: a receiver that can only end must not hold the
   * senders' `closed()` back nor show in `receiverCount` (in Tokio no sender is left to see it).
   */
  subscribe(from?: number): Cursor<T> {
    const c = new Cursor(this);
    if (this.ended) {
      c.open = false;
      return c;
    }
    this.receivers.add();
    if (from === undefined) {
      if (this.replay === 0) return c;
      // The replayed values, less any holes they start with: a new receiver asked for no history.
      let start = Math.max(this.first, this.tail - this.replay);
      while (start < this.tail && this.ring[start & this.mask] === HOLE) start++;
      this.#joinAt(c, start);
    } else {
      const oldest = this.oldestHeld;
      // Below what is held, the cursor starts there and lags on its first receive (by `oldest - from`).
      this.#joinAt(c, Math.max(from, oldest));
      if (from < oldest) c.behind = oldest - from;
    }
    return c;
  }

  /** Moves new cursor `c` back to `start`: it is one more receiver to read each value from there. */
  #joinAt(c: Cursor<T>, start: number): void {
    for (let p = start; p < this.tail; p++) {
      const idx = p & this.mask;
      this.rem[idx] = (this.rem[idx] as number) + 1;
    }
    c.next = start;
  }

  /**
   * The first position still held: the replay window, or the oldest some receiver has yet to read
   * (`rem` does not grow toward the tail's past, so what is held is one run up to the tail).
   */
  get oldestHeld(): number {
    const start = Math.max(this.first, this.tail - this.capacity);
    const replayed = Math.max(start, this.tail - this.replay);
    const unread = this.tail - this.len;
    return Math.min(replayed, unread);
  }

  /** Receiver `c` leaves: the values it had yet to read no longer wait for it; its parked receive ends. */
  unsubscribe(c: Cursor<T>): void {
    if (!c.open) return;
    c.open = false;
    for (let p = Math.max(c.next, this.tail - this.capacity); p < this.tail; p++) {
      const idx = p & this.mask;
      const rem = (this.rem[idx] as number) - 1;
      this.rem[idx] = rem;
      if (rem === 0 && p < this.tail - this.replay) this.ring[idx] = undefined;
    }
    const w = c.waiter;
    if (w !== null) {
      this.waiters.takeOut(w);
      c.waiter = null;
      this.#end(w);
    }
    this.receivers.remove();
  }

  /** Every sender handle is closed: a receiver ends once it has read what is left. */
  get ended(): boolean {
    return this.senders === 0;
  }

  /** One sender handle closed; the last one ends the waiting receivers (they had read everything). */
  dropSender(): void {
    if (--this.senders > 0) return;
    for (let w = this.waiters.shift(); w !== null; w = this.waiters.shift()) {
      w.value.waiter = null;
      this.#end(w);
    }
  }

  /** A parked receive ends: every value it could read was read. */
  #end(w: BroadcastWaiter<T>): void {
    if (w.kind === NEXT) w.resolve(ITERATION_DONE);
    else w.resolve(undefined);
  }

  /** Parks the `recv` of cursor `c`, which has read everything sent. */
  parkRecv(c: Cursor<T>, signal: AbortSignal | undefined): Promise<T | Lagged | undefined> {
    return this.enlist(c, recvWaiterOf(c, signal)).park();
  }

  /** Parks the iterator `next()` of cursor `c`, which has read everything sent. */
  parkNext(c: Cursor<T>): Promise<IteratorResult<T | Lagged, undefined>> {
    const w: BroadcastNextWaiter<T> = new Waiter(NEXT, c, undefined);
    return this.enlist(c, w).park();
  }

  /** Queues `w` as the receive of `c` and watches its signal, if any. */
  enlist<W extends BroadcastWaiter<T>>(c: Cursor<T>, w: W): W {
    if (c.waiter !== null) throw new Error(ONE_AT_A_TIME);
    c.waiter = w;
    this.waiters.add(w, this);
    return w;
  }

  /** Values were sent: every parked receiver had read everything before them, so each gets the first. */
  #wake(): void {
    for (let w = this.waiters.shift(); w !== null; w = this.waiters.shift()) {
      const c = w.value;
      c.waiter = null;
      const value = this.take(c);
      if (w.kind === NEXT) w.resolve({ done: false, value });
      else w.resolve(value);
    }
  }

  /** A parked receive's signal aborted, and the list unlinked it: it read nothing. */
  abortWaiter(w: BroadcastWaiter<T>, reason: unknown): void {
    w.value.waiter = null;
    w.reject(reason);
  }
}

/** @internal One receiver's place in the channel: it references the channel, never the handle (so GC can close it). */
export class Cursor<T> {
  next: number;
  open = true;
  /** Values gone before a resumed receiver's `from`: its first receive reports them. */
  behind = 0;
  /** Values this receiver read so far. */
  received = 0;
  /** Values it missed by lagging so far. */
  lagged = 0;
  /** Its parked receive, if it is waiting. */
  waiter: BroadcastWaiter<T> | null = null;

  constructor(readonly shared: Shared<T>) {
    this.next = shared.tail;
  }

  /** Whether a value or a gap is there to take now. */
  get ready(): boolean {
    return this.open && (this.next < this.shared.tail || this.behind > 0);
  }

  /** Whether nothing more will come: this receiver closed, or every sender closed and it read everything. */
  get done(): boolean {
    return !this.open || this.shared.ended;
  }
}

/**
 * Creates a broadcast channel: every receiver gets every value sent after it subscribed, in order.
 * The channel holds the last `capacity` values, once each, whatever the number of receivers; a
 * receiver that falls further behind loses the oldest ones and is told how many ({@link Lagged}).
 * `send` never waits.
 *
 * The capacity is exact (Tokio rounds it up to a power of two): a receiver lags as soon as it is
 * more than `capacity` values behind.
 *
 * Every value has a sequence number: 1 for the first one sent, then one more for each (a receiver's
 * {@link BroadcastReceiver.lastSeq} is that of the last value it took). With `replay`, a new
 * receiver first gets the latest values; with `subscribe({ from })`, a receiver resumes where an
 * earlier one stopped (see docs/fanout-resume.md).
 *
 * @param capacity how many values the channel holds: an integer from 1 to 2^30.
 * @param options `replay`: how many of the latest values a new receiver gets first (0 to `capacity`).
 * @throws RangeError naming `capacity` or `replay` otherwise.
 *
 * @example
 * ```ts
 * const [tx, rx1] = broadcast<string>(16);
 * const rx2 = tx.subscribe();
 * tx.send("hello"); // 2: both receivers will get it
 * tx.close();
 * console.log(await rx1.recv(), await rx2.recv()); // "hello" "hello"
 * console.log(await rx1.recv()); // undefined: the end
 * ```
 */
export function broadcast<T>(
  capacity: number,
  options?: BroadcastOptions,
): [BroadcastSender<T>, BroadcastReceiver<T>] {
  // One message for every refusal (0 as for 2^30 + 1), giving the whole range.
  const size = positiveInteger(capacity, "capacity", MAX_CAPACITY);
  const replay = options?.replay === undefined ? 0 : integerFrom(options.replay, "replay", 0, size);
  const shared = new Shared<T>(size, replay);
  return [new BroadcastSender(shared), new BroadcastReceiver(shared.subscribe())];
}

/**
 * A new receiver of `shared` (`from` checked: an integer from 1 to the next sequence number).
 *
 * @internal Also the Redis feed's `subscribe`.
 */
export function subscribeTo<T>(
  shared: Shared<T>,
  options: SubscribeOptions | undefined,
): BroadcastReceiver<T> {
  const from = options?.from;
  if (from !== undefined) integerFrom(from, "from", 1, shared.tail);
  return new BroadcastReceiver(shared.subscribe(from));
}

/**
 * The sending half of a broadcast channel. `send` stores the value once for every current receiver
 * and never waits: a slow receiver lags instead of slowing the sender. Clone it for several
 * producers; receivers end once every handle is closed.
 *
 * @example
 * ```ts
 * const [tx, rx] = broadcast<number>(64);
 * setInterval(() => {
 *   if (tx.receiverCount > 0) tx.send(Date.now()); // nobody listening: skip rather than throw
 * }, 1000);
 * ```
 */
export class BroadcastSender<T> {
  #shared: Shared<T>;
  #open = true;

  /** @internal Senders come from `broadcast()` and `clone()`. */
  constructor(shared: Shared<T>) {
    this.#shared = shared;
    senders.register(this, shared, this);
  }

  /**
   * Sends `value` to every current receiver. Never waits: the value takes the place of the oldest one
   * held, which receivers that have not read it yet will miss (they get a {@link Lagged}).
   *
   * @returns how many receivers will get it. Its sequence number is `nextSeq` before the call.
   * @throws {@link SendError} carrying `value` back when there is no receiver and no `replay` (the
   * value is not stored: a receiver that subscribes later starts after it) or this handle is closed.
   * With `replay`, a value sent while nobody is subscribed is stored for the next receiver.
   * @throws TypeError for `undefined`.
   *
   * @example
   * ```ts
   * try {
   *   tx.send(update);
   * } catch (err) {
   *   if (!(err instanceof SendError)) throw err; // nobody subscribed: fine for a feed
   * }
   * ```
   */
  send(value: T): number {
    if (value === undefined) throw new TypeError(UNDEFINED_VALUE);
    if (!this.#open) throw new SendError(value, HANDLE_CLOSED);
    const shared = this.#shared;
    if (shared.receivers.count === 0 && shared.replay === 0) throw new SendError(value, NO_RECEIVERS);
    return shared.send(value);
  }

  /**
   * A new receiver, which gets every value sent from now on, after the `replay` latest ones (none of
   * those before them). With `from`, it resumes instead: it gets every value from sequence number
   * `from` that is still held, or first a {@link Lagged} counting exactly those that are gone. Once
   * every sender handle is closed, it is ended at once and not counted in `receiverCount`.
   *
   * @throws RangeError naming `from` unless it is an integer from 1 to `nextSeq`.
   *
   * @example
   * ```ts
   * server.on("connection", (socket) => pump(tx.subscribe(), socket));
   * // a client that had everything up to seq 41 (its receiver's lastSeq) resumes:
   * const again = tx.subscribe({ from: 42 });
   * ```
   */
  subscribe(options?: SubscribeOptions): BroadcastReceiver<T> {
    return subscribeTo(this.#shared, options);
  }

  /**
   * The sequence number the next value sent will have (1 before the first): a receiver that has read
   * everything has `lastSeq === nextSeq - 1`.
   */
  get nextSeq(): number {
    return this.#shared.tail;
  }

  /**
   * This channel's epoch: a random token (32 hex digits) made when it was created. A sequence number
   * means a value only within one epoch: a process that restarts makes a new broadcast, numbered
   * from 1 again under a new epoch, so a client resuming over gRPC (`resumeBroadcast` from
   * `grpc-mpsc/grpc`) learns that its sequence number belongs to a feed that is gone.
   */
  get epoch(): string {
    return this.#shared.epoch;
  }

  /**
   * A new handle to the same channel; receivers end once every handle is closed.
   *
   * @throws Error if this handle is already closed.
   */
  clone(): BroadcastSender<T> {
    if (!this.#open) throw new Error("cannot clone a closed BroadcastSender handle");
    this.#shared.senders++;
    return new BroadcastSender(this.#shared);
  }

  /**
   * Closes this handle (idempotent). Once every handle is closed, each receiver gets what it has not
   * read yet (a gap first, if it lagged) and then the end.
   */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    senders.unregister(this);
    this.#shared.dropSender();
  }

  /** Same as {@link BroadcastSender.close}, for `using tx = ...`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Resolves when no receiver is left (at once if there is none now). A later `subscribe()` while a
   * sender handle is open makes the next call wait again.
   */
  closed(): Promise<void> {
    return this.#shared.receivers.whenZero();
  }

  /** Receivers subscribed now: what `send` would return. */
  get receiverCount(): number {
    return this.#shared.receivers.count;
  }

  /** Values held that some receiver has not read yet (at most `capacity`). */
  get len(): number {
    return this.#shared.len;
  }

  /** Whether every receiver has read every value held. */
  get isEmpty(): boolean {
    return this.#shared.len === 0;
  }

  /**
   * A snapshot of the broadcast's counters: values held, receivers (and how many wait now), values
   * sent, and values missed by lagging receivers. A new plain object on each call.
   *
   * @example
   * ```ts
   * const { receivers, lagged } = tx.metrics();
   * ```
   */
  metrics(): BroadcastMetrics {
    const shared = this.#shared;
    return {
      len: shared.len,
      capacity: shared.capacity,
      receivers: shared.receivers.count,
      waitingReceivers: shared.waiters.count(),
      sent: shared.tail - shared.first,
      lagged: shared.lagged,
    };
  }

  /** Whether `other` sends into the same channel as this handle. */
  sameChannel(other: BroadcastSender<T>): boolean {
    return other.#shared === this.#shared;
  }
}

/**
 * One receiver of a broadcast channel: it gets every value sent after it subscribed, in order, and
 * a {@link Lagged} in place of any it lost by falling more than `capacity` values behind.
 *
 * A receiver has one receive pending at a time (a second one rejects with an `Error`): for another
 * consumer, `resubscribe()`. Leaving a `for await` loop early closes the receiver. A receiver that is
 * garbage-collected unclosed is closed for you, so it holds nothing back.
 *
 * @example
 * ```ts
 * for await (const item of rx) {
 *   if (item instanceof Lagged) console.warn(`skipped ${item.missed}`);
 *   else console.log(item);
 * }
 * ```
 */
export class BroadcastReceiver<T> implements AsyncIterable<T | Lagged> {
  #cursor: Cursor<T>;

  /** @internal Receivers come from `broadcast()`, `subscribe()` and `resubscribe()`. */
  constructor(cursor: Cursor<T>) {
    this.#cursor = cursor;
    receivers.register(this, cursor, this);
  }

  /**
   * Receives the next value, waiting while there is none.
   *
   * @returns the value; a {@link Lagged} if this receiver lost values by falling behind (the next
   * call goes on with the oldest value held); `undefined` once every sender is closed and this
   * receiver has read everything, or once it is closed. Rejects with `signal.reason` if the wait is
   * aborted (nothing was read), and with an `Error` if another receive of this receiver is pending.
   *
   * @example
   * ```ts
   * for (let item = await rx.recv(); item !== undefined; item = await rx.recv()) {
   *   if (item instanceof Lagged) resync();
   *   else apply(item);
   * }
   * ```
   */
  recv(options?: WaitOptions): Promise<T | Lagged | undefined> {
    const c = this.#cursor;
    const signal = options?.signal;
    const aborted = abortedAlready(signal);
    if (aborted !== undefined) return aborted;
    if (c.ready) return ready<T | Lagged | undefined>(c.shared.take(c));
    if (c.done) return RECV_END;
    if (c.waiter !== null) return Promise.reject(new Error(ONE_AT_A_TIME));
    return c.shared.parkRecv(c, signal);
  }

  /**
   * Receives a value if there is one now, without waiting.
   *
   * @returns `{ ok: true, value }`; a {@link Lagged} (`ok: false`, `reason: "lagged"`, `missed`);
   * `{ ok: false, reason: "empty" }` (nothing now, more may come) or `{ ok: false, reason: "closed" }`
   * (every sender closed and everything read, or this receiver closed).
   *
   * @example
   * ```ts
   * for (let r = rx.tryRecv(); r.ok || r.reason === "lagged"; r = rx.tryRecv()) {
   *   if (r.ok) apply(r.value);
   * }
   * ```
   */
  tryRecv(): BroadcastTryRecvResult<T> {
    const c = this.#cursor;
    if (c.ready) {
      const shared = c.shared;
      const lagged = shared.lag(c);
      if (lagged !== null) return lagged;
      const value = shared.read(c);
      if (value === HOLE) return shared.holes(c, 1);
      c.received++;
      return { ok: true, value };
    }
    return c.done ? NOTHING_EVER : NOTHING_NOW;
  }

  /**
   * The receive as an operation for {@link select}: if another operation of the select completes
   * first, this receiver read nothing. It completes as `recv` does: a value, a {@link Lagged}, or
   * `undefined` at the end.
   */
  recvOp(): SelectOp<T | Lagged | undefined> {
    return new BroadcastRecvOp(this.#cursor);
  }

  /**
   * A new receiver of the same channel that starts at the next value sent (after the `replay` latest
   * ones, as `subscribe()`), whatever this one has read (Tokio's `resubscribe`). On a channel whose senders are all closed it is ended at once and
   * not counted in `receiverCount`.
   */
  resubscribe(): BroadcastReceiver<T> {
    return new BroadcastReceiver(this.#cursor.shared.subscribe());
  }

  /**
   * Unsubscribes (idempotent): the values it had not read no longer wait for it, a pending receive
   * resolves `undefined`, and `receiverCount` falls.
   */
  close(): void {
    const c = this.#cursor;
    if (!c.open) return;
    receivers.unregister(this);
    c.shared.unsubscribe(c);
  }

  /** Same as {@link BroadcastReceiver.close}, for `using rx = ...`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Values sent that this receiver has not read yet, counting those it lost if it lagged (Tokio's `len`). */
  get len(): number {
    const c = this.#cursor;
    return c.open ? c.shared.tail - c.next + c.behind : 0;
  }

  /**
   * The sequence number of the last value this receiver took, or of the last one counted by the last
   * {@link Lagged} it took (0 before the first value ever sent). A client that stores it can come back
   * with `subscribe({ from: lastSeq + 1 })` and lose nothing silently. Reading it costs nothing, and
   * `recv` is unchanged for code that never does.
   *
   * @example
   * ```ts
   * const item = await rx.recv();
   * if (item !== undefined && !(item instanceof Lagged)) save(item, rx.lastSeq);
   * ```
   */
  get lastSeq(): number {
    const c = this.#cursor;
    return c.next - 1 - c.behind;
  }

  /** Whether there is nothing to read now. */
  get isEmpty(): boolean {
    return !this.#cursor.ready;
  }

  /** `true` once no new value can arrive: every sender closed, or this receiver closed. */
  get isClosed(): boolean {
    return this.#cursor.done;
  }

  /**
   * A snapshot of this receiver's counters: values not read yet, values read, values missed by
   * lagging. A new plain object on each call.
   *
   * @example
   * ```ts
   * const { lagged } = rx.metrics();
   * ```
   */
  metrics(): BroadcastReceiverMetrics {
    const c = this.#cursor;
    return { len: this.len, received: c.received, lagged: c.lagged };
  }

  /** Whether `other` receives from the same channel as this receiver. */
  sameChannel(other: BroadcastReceiver<T>): boolean {
    return other.#cursor.shared === this.#cursor.shared;
  }

  /** Iterates values and gaps until the end. Leaving the loop early closes the receiver. */
  [Symbol.asyncIterator](): AsyncIterator<T | Lagged, undefined> {
    const c = this.#cursor;
    // The iterator holds the receiver, so the receiver is not collected (and closed) mid-loop.
    const receiver = this;
    return {
      next(): Promise<IteratorResult<T | Lagged, undefined>> {
        if (c.ready)
          return ready<IteratorResult<T | Lagged, undefined>>({ done: false, value: c.shared.take(c) });
        if (c.done) return Promise.resolve(ITERATION_DONE);
        if (c.waiter !== null) return Promise.reject(new Error(ONE_AT_A_TIME));
        return c.shared.parkNext(c);
      },
      return(): Promise<IteratorResult<T | Lagged, undefined>> {
        receiver.close();
        return Promise.resolve(ITERATION_DONE);
      },
    };
  }
}

/** A receive of a broadcast receiver, for `select`. */
class BroadcastRecvOp<T> extends SelectOp<T | Lagged | undefined> {
  constructor(readonly cursor: Cursor<T>) {
    super();
  }

  attempt(): T | Lagged | undefined | typeof NOT_READY {
    const c = this.cursor;
    if (c.ready) return c.shared.take(c);
    if (c.done) return undefined;
    if (c.waiter !== null) throw new Error(ONE_AT_A_TIME);
    return NOT_READY;
  }

  park(): Branch<T | Lagged | undefined> {
    const c = this.cursor;
    const w = recvWaiterOf(c, undefined);
    c.shared.enlist(c, w);
    return w;
  }

  withdraw(w: Branch<T | Lagged | undefined>): void {
    const c = this.cursor;
    c.shared.waiters.withdraw(w);
    if (c.waiter === w) c.waiter = null;
  }
}

/** A new `recv` waiter of cursor `c` (in no list yet). */
function recvWaiterOf<T>(c: Cursor<T>, signal: AbortSignal | undefined): BroadcastRecvWaiter<T> {
  return new Waiter(RECV, c, signal);
}

/** A sender handle collected unclosed closes, like a dropped Tokio sender. */
const senders = new FinalizationRegistry<Shared<unknown>>((shared) => shared.dropSender());
/** A receiver collected unclosed unsubscribes, so the values it had not read are released. */
const receivers = new FinalizationRegistry<Cursor<unknown>>((cursor) => cursor.shared.unsubscribe(cursor));
