/**
 * Overflow policies: a channel that drops a value instead of making its sender wait. The default
 * policy, `"wait"`, is the plain {@link Chan}: this subclass exists only for the drop policies, so the
 * waiting channel's hot path does not pay for them.
 *
 * @internal
 */
import { ADMITTED, type Admission, Chan, REFUSED } from "./chan.js";
import { publishDrop } from "./events.js";
import { invalid, invalidType } from "./validate.js";

/**
 * What `send` does when the channel is full: `"wait"` (the default) waits for room, `"drop-oldest"`
 * evicts the oldest buffered value to make room, `"drop-newest"` drops the value being sent.
 */
export type Overflow = "wait" | "drop-oldest" | "drop-newest";

/** Options of {@link channel}. */
export interface ChannelOptions<T> {
  /** What `send` does when the channel is full (default `"wait"`). */
  overflow?: Overflow;
  /**
   * Called with every value a drop policy drops, synchronously inside the `send` or `trySend` that
   * dropped it, once the channel holds the new value. It must not throw: an error it throws is
   * rethrown as an uncaught exception (as from an event listener), after the drop was counted.
   */
  onDrop?: (value: T) => void;
}

const POLICIES = '"wait", "drop-oldest" or "drop-newest"';

/** A channel whose full state drops a value: `send` never waits. */
export class OverflowChan<T> extends Chan<T> {
  #dropped = 0;

  constructor(
    bound: number,
    /** Evict the oldest buffered value (else drop the new one). */
    readonly dropOldest: boolean,
    readonly onDrop: ((value: T) => void) | undefined,
  ) {
    super(bound);
  }

  override get dropped(): number {
    return this.#dropped;
  }

  /**
   * Admits every value while the receiver is open. When no slot is free the oldest buffered value
   * makes room (drop-oldest), or the new value is dropped (drop-newest, and drop-oldest when every
   * slot is held by a permit, so there is nothing buffered to evict).
   */
  override offer(value: T): Admission {
    const admission = this.admission();
    if (admission === REFUSED) return REFUSED;
    if (admission === ADMITTED) {
      this.deliver(value);
      return ADMITTED;
    }
    let dropped = value;
    // A full buffer has no parked receiver, so the new value goes to the tail, behind the others.
    if (this.dropOldest && this.buffer.length > 0) {
      dropped = this.buffer.shift();
      this.buffer.push(value);
      this.sent++;
    }
    this.#dropped++;
    publishDrop(this.dropOldest ? "drop-oldest" : "drop-newest", dropped, this.#dropped, this.bound);
    this.#report(dropped);
    return ADMITTED;
  }

  #report(value: T): void {
    const onDrop = this.onDrop;
    if (onDrop === undefined) return;
    try {
      onDrop(value);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

/** The core of `channel(bound, options)`, its options checked. */
export function chanWith<T>(bound: number, options: ChannelOptions<T> | undefined): Chan<T> {
  if (options === undefined) return new Chan<T>(bound);
  if (typeof options !== "object" || options === null) throw invalidType("options", "an object", options);
  const { overflow = "wait", onDrop } = options;
  if (overflow !== "wait" && overflow !== "drop-oldest" && overflow !== "drop-newest")
    throw invalid("overflow", POLICIES, overflow);
  if (onDrop !== undefined && typeof onDrop !== "function") throw invalidType("onDrop", "a function", onDrop);
  if (overflow === "wait") {
    if (onDrop !== undefined)
      throw invalid("overflow", '"drop-oldest" or "drop-newest" with `onDrop`', overflow);
    return new Chan<T>(bound);
  }
  return new OverflowChan<T>(bound, overflow === "drop-oldest", onDrop);
}
