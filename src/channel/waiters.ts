/**
 * Parked operations. A `Waiter` is one pending `send`, `reserve`, `recv` or `recvMany`; it sits in an
 * intrusive doubly linked list so that an aborted wait is unlinked in O(1) and nothing of it is retained.
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

/** Called when a waiter's signal aborts; the owner unlinks it and rejects it. */
export interface AbortSink {
  abortWaiter(waiter: Waiter): void;
}

/** One parked operation. */
export class Waiter {
  prev: Waiter | null = null;
  next: Waiter | null = null;
  resolve!: (value: unknown) => void;
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
    readonly kind: WaiterKind,
    /** The value of a parked `send`; what a granted `reserve` resolves with (a factory); a `recvMany`'s limit. */
    readonly value: unknown,
    readonly signal: AbortSignal | undefined,
  ) {}

  /** Parks this waiter: returns the promise its owner settles (made by `Ctor`, a `Promise` by default). */
  park<R>(Ctor: PromiseConstructor = Promise): Promise<R> {
    return new Ctor<R>((resolve, reject) => {
      this.resolve = resolve as (value: unknown) => void;
      this.reject = reject;
    });
  }
}

/**
 * A parked `reserveMany(n)`. At the head of its line it takes each slot as it is freed and holds it
 * (`held`) until it has `need` of them, as Tokio's semaphore does: a slot freed while it waits is
 * never free for someone behind it, so nobody barges, and the line's order is kept.
 */
export class ManyWaiter extends Waiter {
  /** Slots taken so far (counted in the channel's `reserved`), given back if the wait fails. */
  held = 0;

  constructor(
    readonly need: number,
    grant: () => unknown,
    signal: AbortSignal | undefined,
  ) {
    super(RESERVE_MANY, grant, signal);
  }
}

/** The waiters of one channel that wait with one signal: the signal gets one listener, not one per waiter. */
class SignalGroup {
  readonly waiters = new Set<Waiter>();

  constructor(
    readonly watch: SignalWatch,
    readonly signal: AbortSignal,
  ) {}

  /** EventListener interface: the signal aborted. */
  handleEvent(): void {
    this.watch.aborted(this);
  }
}

/**
 * Listens to the signals of a channel's parked operations. Node's `EventTarget` scans its listener
 * list on every `addEventListener`, so one listener per parked operation on a shared signal would make
 * parking n operations cost O(n^2); here a signal gets one listener per channel, and a waiter joins
 * or leaves its signal's group in O(1).
 */
export class SignalWatch {
  readonly #groups = new Map<AbortSignal, SignalGroup>();

  constructor(readonly sink: AbortSink) {}

  /** Starts watching `w.signal` for `w` (no-op without a signal). */
  add(w: Waiter): void {
    const signal = w.signal;
    if (signal === undefined) return;
    let group = this.#groups.get(signal);
    if (group === undefined) {
      group = new SignalGroup(this, signal);
      this.#groups.set(signal, group);
      signal.addEventListener("abort", group, { once: true });
    }
    group.waiters.add(w);
  }

  /** Stops watching for `w`, which left its list without being aborted. */
  delete(w: Waiter): void {
    const signal = w.signal;
    if (signal === undefined) return;
    const group = this.#groups.get(signal);
    if (group === undefined || !group.waiters.delete(w) || group.waiters.size > 0) return;
    this.#groups.delete(signal);
    signal.removeEventListener("abort", group);
  }

  /** A signal aborted: every waiter of its group is aborted. */
  aborted(group: SignalGroup): void {
    this.#groups.delete(group.signal);
    for (const w of group.waiters) this.sink.abortWaiter(w);
    group.waiters.clear();
  }
}

/** FIFO of waiters with O(1) removal from anywhere. */
export class WaitList {
  head: Waiter | null = null;
  tail: Waiter | null = null;

  push(w: Waiter): void {
    w.prev = this.tail;
    w.next = null;
    if (this.tail) this.tail.next = w;
    else this.head = w;
    this.tail = w;
  }

  /** How many waiters are in the list: a walk, for metrics snapshots only (the hot path keeps no count). */
  count(): number {
    let n = 0;
    for (let w = this.head; w !== null; w = w.next) n++;
    return n;
  }

  /** Removes and returns the first waiter to settle it, or null; a select branch claims its select first. */
  shift(): Waiter | null {
    const w = this.head;
    if (w) this.takeOut(w);
    return w;
  }

  /** Removes `w`, which must be in this list, to settle it: a select branch claims its select first. */
  takeOut(w: Waiter): void {
    this.remove(w);
    if (w.claim !== null) w.claim();
  }

  /** Unlinks `w`, which must be in this list. */
  remove(w: Waiter): void {
    if (w.prev) w.prev.next = w.next;
    else this.head = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.tail = w.prev;
    w.prev = w.next = null;
  }

  /** Whether `w`, which is in this list or in none, is in this list. */
  holds(w: Waiter): boolean {
    return w.prev !== null || this.head === w;
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
