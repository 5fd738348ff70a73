/**
 * `watch(initial)`: one current value that any number of receivers can look at and wait to change
 * (Tokio's `sync::watch`). Each send bumps a version; a receiver remembers the version it saw last,
 * so `changed()` resolves for a newer version however many sends came in between.
 *
 * @internal
 */
import {
  type AbortSink,
  abortedAlready,
  type Branch,
  ITERATION_DONE,
  NEXT,
  NOT_READY,
  RECV,
  ready,
  readyRejection,
  readyVoid,
  SelectOp,
  SendError,
  UNDEFINED_VALUE,
  Waiter,
  WaitList,
  type WaitOptions,
} from "../channel/index.js";
import { RecvError } from "./errors.js";
import { ReceiverCount } from "./receiver-count.js";

const NO_RECEIVERS = "watch channel has no receivers: the value was not stored";
const HANDLE_CLOSED = "this WatchSender handle is closed";
const RECEIVER_CLOSED = "this WatchReceiver is closed";

/** @internal A parked `changed()` of a watch receiver (or a select's): resolved when a newer version came. */
export type ChangedWaiter<T> = Waiter<typeof RECV, WatchCursor<T>, void>;
/** @internal A parked iterator `next()` of a watch receiver: `undefined` for a change, `ITERATION_DONE` at the end. */
export type WatchNextWaiter<T> = Waiter<typeof NEXT, WatchCursor<T>, typeof ITERATION_DONE | undefined>;
/** @internal What waits in a watch channel: a wait of one receiver, with its cursor. */
export type WatchWaiter<T> = ChangedWaiter<T> | WatchNextWaiter<T>;

/** @internal The state of one watch channel, shared by its handles (none of which it references). */
export class WatchShared<T> implements AbortSink<WatchWaiter<T>> {
  /** Bumped by every send. */
  version = 0;
  senders = 1;
  readonly receivers = new ReceiverCount();
  /** Parked `changed()`s and iterator `next()`s, of any receiver (each also in its cursor's `parked`). */
  readonly waiters = new WaitList<WatchWaiter<T>>();

  constructor(public value: T) {}

  /** The value changed: every waiting receiver sees this version. */
  notify(): void {
    const version = ++this.version;
    for (let w = this.#shift(); w !== null; w = this.#shift()) {
      w.value.seen = version;
      w.resolve(undefined);
    }
  }

  /**
   * A new receiver, which has seen the current value. Once every sender is closed no newer value can
   * come, so it is not counted: a receiver that can only read the last value must not hold the
   * senders' `closed()` back nor show in `receiverCount` (in Tokio no sender is left to see it).
   */
  subscribe(seen = this.version): WatchCursor<T> {
    const counted = this.senders > 0;
    if (counted) this.receivers.add();
    return new WatchCursor(this, seen, counted);
  }

  /** Receiver `c` closes: its waits end, and the senders learn when it was the last. */
  unsubscribe(c: WatchCursor<T>): void {
    if (!c.open) return;
    c.open = false;
    // Its own waits only, not the whole list: closing n waiting receivers is O(n), not O(n^2).
    for (let w = c.firstParked(); w !== null; w = c.firstParked()) {
      // Ending one wait that is a select's branch withdraws the select's others (through
      // `ChangedOp.withdraw`, which disowns them), maybe another of mine: hence one at a time.
      c.disown(w);
      this.waiters.takeOut(w);
      this.#end(w, RECEIVER_CLOSED);
    }
    if (c.counted) this.receivers.remove();
  }

  /** One sender handle closed; after the last, waiting receivers (which saw the last value) end. */
  dropSender(): void {
    if (--this.senders > 0) return;
    for (let w = this.#shift(); w !== null; w = this.#shift()) this.#end(w);
  }

  /** Parks a `changed()` of receiver `c`: a wait for a version newer than the one it saw. */
  park(c: WatchCursor<T>, signal: AbortSignal | undefined): Promise<void> {
    return this.enlist(c, changedWaiterOf(c, signal)).park();
  }

  /**
   * Parks an iterator's `next()` of receiver `c`, as {@link WatchShared.park}, except that it resolves
   * `ITERATION_DONE` where a `changed()` rejects.
   */
  parkNext(c: WatchCursor<T>): Promise<typeof ITERATION_DONE | undefined> {
    const w: WatchNextWaiter<T> = new Waiter(NEXT, c, undefined);
    return this.enlist(c, w).park();
  }

  /** Queues `w` as a wait of receiver `c` and watches its signal, if any. */
  enlist<W extends WatchWaiter<T>>(c: WatchCursor<T>, w: W): W {
    this.waiters.add(w, this);
    c.own(w);
    return w;
  }

  /** Takes `w`, a select branch of receiver `c`, out of the list if it is still there. */
  withdraw(c: WatchCursor<T>, w: Branch<void>): void {
    // Out of the list, it was handed out: the winner, which its receiver disowns as it settles it.
    if (!this.waiters.holds(w)) return;
    this.waiters.remove(w);
    c.disown(w);
  }

  /**
   * A wait that cannot be satisfied rejects; an iterator's ends the iteration without making the
   * error it would discard (capturing a stack per receiver would be most of closing many of them).
   */
  #end(w: WatchWaiter<T>, message?: string): void {
    if (w.kind === NEXT) w.resolve(ITERATION_DONE);
    else w.reject(new RecvError(message));
  }

  /** Hands out the first wait, which its receiver no longer counts as parked. */
  #shift(): WatchWaiter<T> | null {
    const w = this.waiters.shift();
    w?.value.disown(w);
    return w;
  }

  /** A parked wait's signal aborted, and the list unlinked it. */
  abortWaiter(w: WatchWaiter<T>, reason: unknown): void {
    w.value.disown(w);
    w.reject(reason);
  }
}

/** @internal One receiver's view: the version it saw last. It never references the handle. */
export class WatchCursor<T> {
  open = true;
  /**
   * Its parked waits, so that closing it finds them without scanning every receiver's: none, one (the
   * usual case, kept without a Set), or several (concurrent `changed()`s, select branches).
   */
  #parked: WatchWaiter<T> | Set<WatchWaiter<T>> | null = null;

  constructor(
    readonly shared: WatchShared<T>,
    public seen: number,
    /** Whether it is in `shared.receivers` (not if it came after every sender closed). */
    readonly counted = true,
  ) {}

  /** A version newer than the one seen is there. */
  get unseen(): boolean {
    return this.seen !== this.shared.version;
  }

  /** Whether no newer version can come: every sender closed, or this receiver closed. */
  get done(): boolean {
    return !this.open || this.shared.senders === 0;
  }

  /** Records `w` as one of its parked waits. */
  own(w: WatchWaiter<T>): void {
    const p = this.#parked;
    if (p === null) this.#parked = w;
    else if (p instanceof Set) p.add(w);
    else this.#parked = new Set([p, w]);
  }

  /** Forgets `w`, which left the list (or is about to), if it was one of its parked waits. */
  disown(w: WatchWaiter<T>): void {
    const p = this.#parked;
    if (p === w) this.#parked = null;
    else if (p instanceof Set && p.delete(w) && p.size === 0) this.#parked = null;
  }

  /** One of its parked waits, or null. */
  firstParked(): WatchWaiter<T> | null {
    const p = this.#parked;
    if (p === null || p instanceof Waiter) return p;
    for (const w of p) return w;
    return null;
  }

  /** How many waits it has parked (for tests). */
  get parkedCount(): number {
    const p = this.#parked;
    return p === null ? 0 : p instanceof Set ? p.size : 1;
  }

  /** Marks the current version seen and returns its value. */
  update(): T {
    const shared = this.shared;
    this.seen = shared.version;
    return shared.value;
  }

  /** Why a wait for a change fails now: the error, or `undefined` if it can wait. */
  refusal(): RecvError | undefined {
    if (!this.open) return new RecvError(RECEIVER_CLOSED);
    return this.shared.senders === 0 ? new RecvError() : undefined;
  }
}

/**
 * Creates a watch channel holding `initial`: senders replace the value, receivers read the latest
 * one and can wait for it to change. Receivers never queue values: one that is slow skips the
 * intermediate ones and sees the latest. Use it for state (configuration, a "shutting down" flag, the
 * last price), where only the current value matters.
 *
 * @throws TypeError if `initial` is `undefined`.
 *
 * @example
 * ```ts
 * const [tx, rx] = watch({ connected: false });
 * void (async () => {
 *   for await (const state of rx) console.log("now", state); // the current value, then each change
 * })();
 * tx.send({ connected: true });
 * tx.close(); // the loop ends after the last value
 * ```
 */
export function watch<T>(initial: T): [WatchSender<T>, WatchReceiver<T>] {
  if (initial === undefined) throw new TypeError(UNDEFINED_VALUE);
  const shared = new WatchShared(initial);
  return [new WatchSender(shared), new WatchReceiver(shared.subscribe())];
}

/**
 * The sending half of a watch channel: it replaces the value and wakes every receiver waiting for a
 * change. Clone it for several producers; receivers' waits end once every handle is closed.
 *
 * @example
 * ```ts
 * const [tx, rx] = watch(0);
 * tx.sendModify((n) => n + 1); // 1, even with no receiver
 * tx.sendIfModified((n) => n > 10); // false: no change, nobody woken
 * ```
 */
export class WatchSender<T> {
  #shared: WatchShared<T>;
  #open = true;

  /** @internal Senders come from `watch()` and `clone()`. */
  constructor(shared: WatchShared<T>) {
    this.#shared = shared;
    senders.register(this, shared, this);
  }

  /**
   * Replaces the value and wakes the receivers waiting for a change.
   *
   * @throws {@link SendError} carrying `value` back, with nothing stored, when no receiver is left
   * (as Tokio's `send`; {@link WatchSender.sendReplace} stores regardless) or this handle is closed.
   * @throws TypeError for `undefined`.
   */
  send(value: T): void {
    this.#check(value);
    if (this.#shared.receivers.count === 0) throw new SendError(value, NO_RECEIVERS);
    this.#shared.value = value;
    this.#shared.notify();
  }

  /**
   * Replaces the value whether or not any receiver is left, and wakes the waiting ones.
   *
   * @returns the value it replaced.
   * @throws {@link SendError} if this handle is closed; TypeError for `undefined`.
   */
  sendReplace(value: T): T {
    this.#check(value);
    const shared = this.#shared;
    const old = shared.value;
    shared.value = value;
    shared.notify();
    return old;
  }

  /**
   * Modifies the value in place, or replaces it with what `modify` returns (if not `undefined`), and
   * wakes the waiting receivers, whether or not any receiver is left. If `modify` throws, the error
   * propagates and nobody is woken (a change it made in place before throwing stays).
   *
   * @throws {@link SendError} if this handle is closed.
   *
   * @example
   * ```ts
   * tx.sendModify((state) => {
   *   state.clients++;
   * }); // in place
   * counter.sendModify((n) => n + 1); // replaced
   * ```
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a callback that changes the value in place returns nothing (void); `undefined` would refuse such a block-bodied arrow, `void` alone would accept one that returns something else by mistake
  sendModify(modify: (value: T) => T | void): void {
    this.#checkOpen(undefined);
    const shared = this.#shared;
    const next = modify(shared.value);
    if (next !== undefined) shared.value = next;
    shared.notify();
  }

  /**
   * Lets `modify` change the value in place and wakes the waiting receivers only if it returns
   * `true` (say it changed nothing, and nobody wakes for nothing). Works whether or not any receiver
   * is left.
   *
   * @returns what `modify` returned.
   * @throws {@link SendError} if this handle is closed.
   *
   * @example
   * ```ts
   * tx.sendIfModified((state) => {
   *   if (state.leader === id) return false;
   *   state.leader = id;
   *   return true;
   * });
   * ```
   */
  sendIfModified(modify: (value: T) => boolean): boolean {
    this.#checkOpen(undefined);
    const modified = modify(this.#shared.value);
    if (modified) this.#shared.notify();
    return modified;
  }

  /** The current value. */
  borrow(): T {
    return this.#shared.value;
  }

  /**
   * A new receiver, which has seen the current value: its `changed()` waits for the next send. Once
   * every sender handle is closed, it reads the last value, its `changed()` rejects with
   * {@link RecvError}, and it is not counted in `receiverCount`.
   */
  subscribe(): WatchReceiver<T> {
    return new WatchReceiver(this.#shared.subscribe());
  }

  /**
   * A new handle to the same channel; receivers' waits end once every handle is closed.
   *
   * @throws Error if this handle is already closed.
   */
  clone(): WatchSender<T> {
    if (!this.#open) throw new Error("cannot clone a closed WatchSender handle");
    this.#shared.senders++;
    return new WatchSender(this.#shared);
  }

  /**
   * Closes this handle (idempotent). Once every handle is closed, receivers keep the last value;
   * their `changed()` resolves for a value they have not seen yet, and rejects with
   * {@link RecvError} after that.
   */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    senders.unregister(this);
    this.#shared.dropSender();
  }

  /** Same as {@link WatchSender.close}, for `using tx = ...`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Resolves when no receiver is left (at once if there is none now). */
  closed(): Promise<void> {
    return this.#shared.receivers.whenZero();
  }

  /** Whether no receiver is left (a `subscribe()` while a sender handle is open changes that). */
  get isClosed(): boolean {
    return this.#shared.receivers.count === 0;
  }

  /** Receivers now. */
  get receiverCount(): number {
    return this.#shared.receivers.count;
  }

  /** Open sender handles now. */
  get senderCount(): number {
    return this.#shared.senders;
  }

  /** Whether `other` sends into the same channel as this handle. */
  sameChannel(other: WatchSender<T>): boolean {
    return other.#shared === this.#shared;
  }

  /** Throws unless this handle can send `value`. */
  #check(value: T): void {
    if (value === undefined) throw new TypeError(UNDEFINED_VALUE);
    this.#checkOpen(value);
  }

  /** Throws a {@link SendError} carrying `value` if this handle is closed. */
  #checkOpen(value: T | undefined): void {
    if (!this.#open) throw new SendError(value, HANDLE_CLOSED);
  }
}

/**
 * A receiver of a watch channel: it reads the current value and waits for newer ones. It remembers
 * the last version it marked seen (`borrowAndUpdate`, `changed`, iteration); `borrow` looks without
 * marking.
 *
 * @example
 * ```ts
 * for await (const config of rx) applyConfig(config); // the current value first, then each newer one
 * ```
 */
export class WatchReceiver<T> implements AsyncIterable<T> {
  #cursor: WatchCursor<T>;

  /** @internal Receivers come from `watch()`, `subscribe()` and `clone()`. */
  constructor(cursor: WatchCursor<T>) {
    this.#cursor = cursor;
    receivers.register(this, cursor, this);
  }

  /** The current value, without marking it seen. */
  borrow(): T {
    return this.#cursor.shared.value;
  }

  /** The current value, marked seen: `changed()` then waits for a newer one. */
  borrowAndUpdate(): T {
    return this.#cursor.update();
  }

  /**
   * Whether a value newer than the last one seen is there.
   *
   * @throws {@link RecvError} once every sender is closed (even with a value not yet seen: as in
   * Tokio, `changed()` is the way to read it) or this receiver is closed.
   */
  hasChanged(): boolean {
    const refusal = this.#cursor.refusal();
    if (refusal !== undefined) throw refusal;
    return this.#cursor.unseen;
  }

  /**
   * Waits for a value newer than the last one seen, and marks it seen (read it with `borrow()`).
   * Resolves at once if there is one already.
   *
   * @returns a promise that rejects with {@link RecvError} once every sender is closed and the last
   * value was seen (or this receiver is closed), and with `signal.reason` if the wait is aborted.
   *
   * @example
   * ```ts
   * while (true) {
   *   try {
   *     await rx.changed();
   *   } catch {
   *     break; // RecvError: the sender is gone
   *   }
   *   render(rx.borrow());
   * }
   * ```
   */
  changed(options?: WaitOptions): Promise<void> {
    const c = this.#cursor;
    const signal = options?.signal;
    const aborted = abortedAlready(signal);
    if (aborted !== undefined) return aborted;
    if (c.open && c.unseen) {
      c.seen = c.shared.version;
      return readyVoid();
    }
    const refusal = c.refusal();
    if (refusal !== undefined) return readyRejection(refusal);
    return c.shared.park(c, signal);
  }

  /**
   * Waits until the value satisfies `predicate`, checking the current value first, and returns it
   * (marked seen).
   *
   * @returns a promise that rejects with {@link RecvError} if every sender closes first, with
   * `signal.reason` if aborted, or with what `predicate` throws.
   *
   * @example
   * ```ts
   * await rx.waitFor((state) => state.ready);
   * ```
   */
  waitFor(predicate: (value: T) => boolean, options?: WaitOptions): Promise<T> {
    const value = this.#cursor.update();
    try {
      // On the yield budget: a loop whose predicate holds at once must not starve the event loop.
      if (predicate(value)) return ready(value);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#waitFor(predicate, options);
  }

  async #waitFor(predicate: (value: T) => boolean, options: WaitOptions | undefined): Promise<T> {
    for (;;) {
      await this.changed(options);
      const value = this.#cursor.update();
      if (predicate(value)) return value;
    }
  }

  /** Marks the current value unseen, so `changed()` resolves at once. */
  markChanged(): void {
    this.#cursor.seen = this.#cursor.shared.version - 1;
  }

  /** Marks the current value seen without reading it. */
  markUnchanged(): void {
    this.#cursor.seen = this.#cursor.shared.version;
  }

  /**
   * The wait for a change as an operation for {@link select}: it completes as `changed()` does
   * (marking the new value seen), and if another operation completes first, nothing is marked.
   */
  changedOp(): SelectOp<void> {
    return new ChangedOp(this.#cursor);
  }

  /**
   * Another receiver of the same channel, having seen what this one has seen (once every sender is
   * closed, it is not counted in `receiverCount`, as a late `subscribe()`).
   */
  clone(): WatchReceiver<T> {
    const c = this.#cursor;
    return new WatchReceiver(c.shared.subscribe(c.seen));
  }

  /** Closes this receiver (idempotent): its pending waits reject with {@link RecvError} (iterators end). */
  close(): void {
    const c = this.#cursor;
    if (!c.open) return;
    receivers.unregister(this);
    c.shared.unsubscribe(c);
  }

  /** Same as {@link WatchReceiver.close}, for `using rx = ...`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `true` once no newer value can come: every sender closed, or this receiver closed. */
  get isClosed(): boolean {
    return this.#cursor.done;
  }

  /** Whether `other` receives from the same channel as this receiver. */
  sameChannel(other: WatchReceiver<T>): boolean {
    return other.#cursor.shared === this.#cursor.shared;
  }

  /**
   * Yields the current value, then the latest value after each change, skipping those that came and
   * went in between; ends once every sender is closed and the last value was yielded. Leaving the
   * loop early closes the receiver.
   */
  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    const c = this.#cursor;
    const receiver = this;
    let first = true;
    return {
      next(): Promise<IteratorResult<T, undefined>> {
        if (first || (c.open && c.unseen)) {
          first = false;
          if (c.open) return Promise.resolve({ done: false, value: c.update() });
        }
        if (c.done) return Promise.resolve(ITERATION_DONE);
        // The value is read when the loop resumes, not when the change woke it: a burst of sends
        // between the two yields its last value only.
        return c.shared
          .parkNext(c)
          .then((end): IteratorResult<T, undefined> => end ?? { done: false, value: c.update() });
      },
      return(): Promise<IteratorResult<T, undefined>> {
        receiver.close();
        return Promise.resolve(ITERATION_DONE);
      },
    };
  }
}

/** A wait for a change of a watch receiver, for `select`. */
class ChangedOp<T> extends SelectOp<void> {
  constructor(readonly cursor: WatchCursor<T>) {
    super();
  }

  attempt(): undefined | typeof NOT_READY {
    const c = this.cursor;
    if (c.open && c.unseen) {
      c.seen = c.shared.version;
      return undefined;
    }
    const refusal = c.refusal();
    if (refusal !== undefined) throw refusal;
    return NOT_READY;
  }

  park(): Branch<void> {
    const c = this.cursor;
    return c.shared.enlist(c, changedWaiterOf(c, undefined));
  }

  withdraw(w: Branch<void>): void {
    const c = this.cursor;
    c.shared.withdraw(c, w);
  }
}

/** A new `changed()` waiter of receiver `c` (in no list yet). */
function changedWaiterOf<T>(c: WatchCursor<T>, signal: AbortSignal | undefined): ChangedWaiter<T> {
  return new Waiter(RECV, c, signal);
}

/** A sender handle collected unclosed closes, like a dropped Tokio sender. */
const senders = new FinalizationRegistry<WatchShared<unknown>>((shared) => shared.dropSender());
/** A receiver collected unclosed closes, so `closed()` can resolve. */
const receivers = new FinalizationRegistry<WatchCursor<unknown>>((cursor) =>
  cursor.shared.unsubscribe(cursor),
);
