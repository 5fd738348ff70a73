/**
 * Parked operations. A `Waiter` is one pending `send`, `reserve`, `recv` or `recvMany` (or a broadcast
 * or watch receive); it sits in an intrusive doubly linked list, a {@link WaitList}, so that an aborted
 * wait is unlinked in O(1) and nothing of it is retained.
 *
 * @internal
 */

/** What a waiter is waiting to do. */
export const SEND = 0;
export const RESERVE = 1;
export const RECV = 2;
export const RECV_MANY = 3;
/** A parked async-iterator `next()`: it is settled with an `IteratorResult` directly. */
export const NEXT = 4;
/** A parked `reserveMany(n)`: a {@link ManyWaiter}. */
export const RESERVE_MANY = 5;
export type WaiterKind =
  | typeof SEND
  | typeof RESERVE
  | typeof RECV
  | typeof RECV_MANY
  | typeof NEXT
  | typeof RESERVE_MANY;

/**
 * How a waiter is resolved, with `R`. Written as a method's type, which TypeScript checks
 * bivariantly: one line holds waiters whose resolution types differ (a channel's reserves resolve
 * with whatever their grant makes, which the core does not know), and each is only ever resolved
 * with what its own kind yields.
 */
export type Resolve<R> = { settle(value: R): void }["settle"];

/**
 * The owner of a {@link WaitList}: told when the signal of one of its waiters aborted, after the
 * list unlinked that waiter (nothing was taken from it nor delivered to it), to reject it with
 * `reason` and undo whatever the owner held for it.
 */
export interface AbortSink<W> {
  abortWaiter(waiter: W, reason: unknown): void;
}

/**
 * One parked operation of kind `K`: `P` is the payload it waits with (the value of a parked `send`,
 * the grant of a `reserve`, the limit of a `recvMany`, the receiver of a broadcast or watch wait),
 * `R` what it is resolved with.
 */
export class Waiter<K extends WaiterKind = WaiterKind, P = unknown, R = unknown> {
  /**
   * Its neighbours in its {@link WaitList}: waiters of that list, whatever their kinds. The head's
   * `prev` is the tail (itself when alone), so `prev` is null exactly when the waiter is in no list.
   */
  prev: this | null = null;
  next: this | null = null;
  resolve!: Resolve<R>;
  reject!: (reason: unknown) => void;
  /**
   * Set on a branch of a `select`: called by {@link WaitList.shift} the moment a list hands this
   * waiter out to be settled, before anything is delivered to or taken from it, so the select's other
   * branches leave their lists first. A channel may settle a waiter after doing more work (a granted
   * send delivers its value before it resolves), and that work must not find a sibling branch still
   * waiting: a select that sends into and receives from the same channel would otherwise complete twice.
   */
  claim: (() => void) | null = null;

  constructor(
    readonly kind: K,
    readonly value: P,
    readonly signal: AbortSignal | undefined,
  ) {}

  /** Parks this waiter: returns the promise its owner settles (made by `Ctor`, a `Promise` by default). */
  park(): Promise<R>;
  park<Pr extends PromiseLike<R>>(
    Ctor: new (executor: (resolve: (value: R) => void, reject: (reason: unknown) => void) => void) => Pr,
  ): Pr;
  park(
    Ctor: new (
      executor: (resolve: (value: R) => void, reject: (reason: unknown) => void) => void,
    ) => PromiseLike<R> = Promise,
  ): PromiseLike<R> {
    return new Ctor((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * A parked `reserveMany(n)`, resolved with what its grant makes. At the head of its line it takes
 * each slot as it is freed and holds it (`held`) until it has `need` of them, as Tokio's semaphore
 * does: a slot freed while it waits is never free for someone behind it, so nobody barges, and the
 * line's order is kept.
 */
export class ManyWaiter<R = unknown> extends Waiter<typeof RESERVE_MANY, () => R, R> {
  /** Slots taken so far (counted in the channel's `reserved`), given back if the wait fails. */
  held = 0;

  constructor(
    readonly need: number,
    grant: () => R,
    signal: AbortSignal | undefined,
  ) {
    super(RESERVE_MANY, grant, signal);
  }
}

/** The waiters of one list that wait with one signal: the signal gets one listener, not one per waiter. */
class SignalGroup<W extends Waiter> {
  readonly waiters = new Set<W>();

  constructor(
    readonly watch: SignalWatch<W>,
    readonly signal: AbortSignal,
  ) {}

  /** EventListener interface: the signal aborted. */
  handleEvent(): void {
    this.watch.aborted(this);
  }
}

/**
 * Listens to the signals of a list's parked operations. Node's `EventTarget` scans its listener
 * list on every `addEventListener`, so one listener per parked operation on a shared signal would make
 * parking n operations cost O(n^2); here a signal gets one listener per list, and a waiter joins
 * or leaves its signal's group in O(1).
 */
class SignalWatch<W extends Waiter> {
  readonly #groups = new Map<AbortSignal, SignalGroup<W>>();

  constructor(
    readonly list: WaitList<W>,
    readonly sink: AbortSink<W>,
  ) {}

  /** Starts watching `signal` for `w`. */
  add(w: W, signal: AbortSignal): void {
    let group = this.#groups.get(signal);
    if (group === undefined) {
      group = new SignalGroup(this, signal);
      this.#groups.set(signal, group);
      signal.addEventListener("abort", group, { once: true });
    }
    group.waiters.add(w);
  }

  /** Stops watching `signal` for `w`, which left its list without being aborted. */
  delete(w: W, signal: AbortSignal): void {
    const group = this.#groups.get(signal);
    if (group === undefined || !group.waiters.delete(w) || group.waiters.size > 0) return;
    this.#groups.delete(signal);
    signal.removeEventListener("abort", group);
  }

  /**
   * A signal aborted: every waiter of its group still in the list leaves it and goes to the sink.
   * Waiters that share a signal abort one after another, and the sink's work for one can settle a
   * later one (a channel's aborted reserveMany gives back what it held, which a reserve behind it
   * takes): that one is out of its list by the time its turn comes, and must stay as it is.
   */
  aborted(group: SignalGroup<W>): void {
    const { list, sink } = this;
    const reason: unknown = group.signal.reason;
    this.#groups.delete(group.signal);
    for (const w of group.waiters) {
      if (!list.holds(w)) continue;
      list.remove(w);
      sink.abortWaiter(w, reason);
    }
    group.waiters.clear();
  }
}

/**
 * FIFO of waiters with O(1) removal from anywhere. It owns the watch of its waiters' signals: a waiter
 * added with a signal is watched until the list hands it out ({@link WaitList.shift},
 * {@link WaitList.takeOut}) or the signal aborts (then the list unlinks it and tells its sink).
 *
 * The tail is the head's `prev` rather than a field of its own: a channel holds two lists, and one
 * per open gRPC stream is many, so the list keeps to two fields.
 */
export class WaitList<W extends Waiter> {
  head: W | null = null;
  /** Made for the first waiter that has a signal: most lists never need one. */
  #signals: SignalWatch<W> | null = null;

  /** Appends `w`, which waits without a signal (a select's branch, an iterator's `next()`). */
  push(w: W): void {
    const head = this.head;
    w.next = null;
    if (head === null) {
      w.prev = w;
      this.head = w;
      return;
    }
    const tail = head.prev ?? head;
    tail.next = w;
    w.prev = tail;
    head.prev = w;
  }

  /** Appends `w` and watches its signal, if any: on abort it leaves the list and goes to `sink`. */
  add(w: W, sink: AbortSink<W>): void {
    this.push(w);
    if (w.signal === undefined) return;
    this.#signals ??= new SignalWatch(this, sink);
    this.#signals.add(w, w.signal);
  }

  /** How many waiters are in the list: a walk, for metrics snapshots only (the hot path keeps no count). */
  count(): number {
    let n = 0;
    for (let w = this.head; w !== null; w = w.next) n++;
    return n;
  }

  /**
   * Removes and returns the first waiter to settle it, or null: no longer watched, and a select
   * branch has claimed its select.
   */
  shift(): W | null {
    const w = this.head;
    if (w) this.takeOut(w);
    return w;
  }

  /** Removes `w`, which must be in this list, to settle it: no longer watched, a select branch claims its select first. */
  takeOut(w: W): void {
    this.remove(w);
    if (w.signal !== undefined) this.#signals?.delete(w, w.signal);
    if (w.claim !== null) w.claim();
  }

  /** Unlinks `w`, which must be in this list. */
  remove(w: W): void {
    const { prev, next } = w;
    const head = this.head;
    if (w === head) {
      // Its `prev` is the tail, which the new head points back to (none if `w` was alone).
      this.head = next;
      if (next !== null) next.prev = prev;
    } else if (prev !== null && head !== null) {
      prev.next = next;
      // Unlinking the tail: the head's `prev` names the new one.
      if (next !== null) next.prev = prev;
      else head.prev = prev;
    }
    w.prev = w.next = null;
  }

  /** Whether `w`, which is in this list or in none, is in this list (and so one of its waiters). */
  holds(w: Waiter): w is W {
    return w.prev !== null;
  }

  /** Unlinks `w` if it is in this list (a select withdrawing a branch that may already be gone). */
  withdraw(w: Waiter): void {
    if (this.holds(w)) this.remove(w);
  }
}

/** A wait that was aborted before it began: the rejection to return, or `undefined` to go on. */
export function abortedAlready(signal: AbortSignal | undefined): Promise<never> | undefined {
  return signal?.aborted ? Promise.reject(signal.reason) : undefined;
}
