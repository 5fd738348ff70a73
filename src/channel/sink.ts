/**
 * A channel drained synchronously by a consumer instead of a receiver: a value sent while the sink has
 * room is handed to it inside `send`, so a resolved `send` means the sink took the value (for the gRPC
 * adapters: the message was handed to a live call), and nothing sits in a buffer between the two.
 * While the sink has no room, senders park in the usual FIFO line and are granted as room comes back.
 *
 * @internal
 */
import { Chan, sendWaiter } from "./chan.js";
import { timeWait } from "./events.js";
import { Observed, reportUnobserved } from "./observed.js";

/** The consumer of a {@link SinkChan}. */
export interface Sink<T> {
  /** How many values it can take now. */
  readonly room: number;
  /** Takes one value; called only while `room` > 0, or by a permit reserved while it was. */
  take(value: T): void;
  /** Every sender handle closed and every value was taken: the end of the stream. */
  end(): void;
  /** A sender aborted the channel with `reason` (parked senders already have their values back). */
  fail(reason: unknown): void;
  /** The last open sender handle was garbage-collected without being closed. */
  abandon(): void;
  /** A send that was refused (or aborted) while nobody awaited or handled its promise. */
  unobserved(reason: unknown): void;
  /** Why the sink can never take `value` (a gRPC call cannot carry `null`), or `undefined`. */
  unfit(value: T): TypeError | undefined;
}

/** A channel whose values go straight into a {@link Sink}. */
export class SinkChan<T> extends Chan<T> {
  readonly sink: Sink<T>;
  #ended = false;
  /** The last handle was collected unclosed (not closed by its owner). */
  #abandoned = false;

  constructor(bound: number, sink: Sink<T>) {
    super(bound, 0);
    this.sink = sink;
  }

  override get free(): number {
    return this.rxClosed ? 0 : this.sink.room - this.reserved;
  }

  override unfit(value: T): TypeError | undefined {
    return super.unfit(value) ?? this.sink.unfit(value);
  }

  override deliver(value: T): void {
    this.sent++;
    this.received++;
    this.sink.take(value);
  }

  override grant(): void {
    super.grant();
    this.wakeIfFinished();
  }

  /**
   * The stream ends once every handle closed, no permit is out and no parked send is left to take;
   * if the last handle was collected rather than closed, the sink hears `abandon` instead of `end`.
   */
  override wakeIfFinished(): void {
    if (this.#ended || this.senders > 0 || this.reserved > 0 || this.sendWaiters.head !== null) return;
    this.#ended = true;
    if (this.rxClosed) return;
    if (this.#abandoned) this.sink.abandon();
    else this.sink.end();
  }

  override fail(reason: unknown): void {
    if (this.rxClosed) return;
    super.fail(reason);
    this.sink.fail(reason);
  }

  /** Sends the collected handle started still complete, as after `close()`: then the sink is told. */
  override senderCollected(): void {
    if (this.senders === 1) this.#abandoned = true;
    this.dropSender();
  }

  override refuse(value: unknown, message?: string): Promise<never> {
    return this.#report(Observed.reject(this.refusal(value, message)) as Observed<never>);
  }

  override track<R>(promise: Promise<R>): Promise<R> {
    return this.#report(new Observed<R>((resolve, reject) => promise.then(resolve, reject)));
  }

  override parkSend(value: T, signal: AbortSignal | undefined): Promise<void> {
    const w = this.enlistSend(sendWaiter(value, signal));
    const parked = w.park(Observed);
    timeWait(w, "send", this.bound);
    return this.#report(parked);
  }

  #report<R>(promise: Observed<R>): Observed<R> {
    reportUnobserved(promise, (reason) => this.sink.unobserved(reason));
    return promise;
  }
}
