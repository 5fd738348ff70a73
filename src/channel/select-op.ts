/**
 * The operations `select` races, as the channel core sees them: each can try to complete at once,
 * park a waiter on its channel's list, and withdraw that waiter untouched. `select` itself lives with
 * the fan-out toolkit (`src/fanout/select.ts`); the channels only say how to take part.
 *
 * @internal
 */
import { ADMITTED, type Chan, REFUSED, recvWaiter, sendWaiter } from "./chan.js";
import type { Waiter, WaiterKind } from "./waiters.js";

/** What {@link SelectOp.attempt} answers when the operation cannot complete now. */
export const NOT_READY: unique symbol = Symbol("grpc-mpsc.notReady");

/** The waiter of a parked {@link SelectOp}, resolved with what the operation completes with. */
export type Branch<R> = Waiter<WaiterKind, unknown, R>;

/**
 * One operation that {@link select} may complete: a receive (`rx.recvOp()`), a send
 * (`tx.sendOp(value)`) or a wait for a change (`rx.changedOp()`). Making one does nothing: the
 * operation runs only inside `select`, and only if `select` picks it; `R` is what it completes with.
 * An operation can be passed to several `select` calls, one after the other.
 */
export abstract class SelectOp<R> {
  /**
   * @internal Completes the operation now if it can, and answers its result, or {@link NOT_READY}
   * having taken and enqueued nothing. Throws when it completes with an error (a refused send).
   */
  abstract attempt(): R | typeof NOT_READY;

  /**
   * @internal Parks the operation: a new waiter, in its channel's list, that the channel settles with
   * the result. Its `resolve`, `reject` and `claim` are set by the caller before anything can settle it.
   */
  abstract park(): Branch<R>;

  /** @internal Takes back a waiter from {@link SelectOp.park} that was not handed out: nothing was taken. */
  abstract withdraw(w: Branch<R>): void;
}

/** A receive from a channel: a value, `undefined` at the end, the failure of an aborted channel. */
export class RecvOp<T> extends SelectOp<T | undefined> {
  constructor(readonly chan: Chan<T>) {
    super();
  }

  attempt(): T | undefined | typeof NOT_READY {
    const chan = this.chan;
    if (chan.buffer.length > 0) return chan.take();
    if (!chan.finished) return NOT_READY;
    if (chan.failed) throw chan.failure;
    return undefined;
  }

  park(): Branch<T | undefined> {
    const w = recvWaiter<T>(undefined);
    this.chan.recvWaiters.push(w);
    return w;
  }

  withdraw(w: Branch<T | undefined>): void {
    this.chan.recvWaiters.withdraw(w);
  }
}

/** A send into a channel: waits in the same FIFO line as `send`; refused with a `SendError`. */
export class SendOp<T> extends SelectOp<void> {
  constructor(
    readonly chan: Chan<T>,
    readonly value: T,
    /** Why the sending handle refuses (it is closed), checked when the operation runs. */
    readonly handleClosed: () => string | undefined,
  ) {
    super();
  }

  attempt(): undefined | typeof NOT_READY {
    const chan = this.chan;
    const closed = this.handleClosed();
    if (closed !== undefined) throw chan.refusal(this.value, closed);
    const admission = chan.offer(this.value);
    if (admission === ADMITTED) return undefined;
    if (admission === REFUSED) throw chan.refusal(this.value);
    return NOT_READY;
  }

  park(): Branch<void> {
    return this.chan.enlistSend(sendWaiter(this.value, undefined));
  }

  withdraw(w: Branch<void>): void {
    this.chan.sendWaiters.withdraw(w);
  }
}
