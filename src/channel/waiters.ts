/**
 * Parked operations. A `Waiter` is one pending `send`, `reserve`, `recv` or `recvMany`; it sits in an
 * intrusive doubly linked list so that an aborted wait is unlinked in O(1) and nothing of it is retained.
 * The waiter is its own abort listener (`handleEvent`), so parking allocates no closure for the signal.
 *
 * @internal
 */

/** What a waiter is waiting to do. */
export const SEND = 0;
export const RESERVE = 1;
export const RECV = 2;
export const RECV_MANY = 3;
export type WaiterKind = typeof SEND | typeof RESERVE | typeof RECV | typeof RECV_MANY;

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

  constructor(
    readonly owner: AbortSink,
    readonly kind: WaiterKind,
    /** The value of a parked `send`; the limit of a parked `recvMany`. */
    readonly value: unknown,
    readonly signal: AbortSignal | undefined,
  ) {}

  /** Parks this waiter: returns the promise its owner settles, and listens to its signal. */
  park<R>(): Promise<R> {
    const promise = new Promise<R>((resolve, reject) => {
      this.resolve = resolve as (value: unknown) => void;
      this.reject = reject;
    });
    this.signal?.addEventListener("abort", this);
    return promise;
  }

  /** Stops listening to the signal; called once the waiter leaves its list. */
  detach(): void {
    this.signal?.removeEventListener("abort", this);
  }

  /** EventListener interface: the signal aborted. */
  handleEvent(): void {
    this.owner.abortWaiter(this);
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

  /** Removes and returns the first waiter, or null; the waiter is detached from its signal. */
  shift(): Waiter | null {
    const w = this.head;
    if (w) this.remove(w);
    return w;
  }

  /** Unlinks `w` (which must be in this list) and detaches it from its signal. */
  remove(w: Waiter): void {
    if (w.prev) w.prev.next = w.next;
    else this.head = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.tail = w.prev;
    w.prev = w.next = null;
    w.detach();
  }
}
