/**
 * Errors of the channel core. Every error that stands for a refused value carries that value back,
 * so nothing handed to a sender is ever dropped silently.
 *
 * @module
 */

/**
 * A value could not be sent because the channel is closed: the receiver was closed (or left its
 * `for await` loop), or the `Sender` handle used was itself closed. The refused value is in
 * {@link SendError.value}.
 *
 * @example
 * ```ts
 * try {
 *   await tx.send(job);
 * } catch (err) {
 *   if (err instanceof SendError) requeue(err.value); // the value comes back, nothing is lost
 * }
 * ```
 */
export class SendError<T> extends Error {
  /** The value that was not sent (`undefined` for a refused `reserve`). */
  readonly value: T;

  /** @param value the refused value; @param message what was closed */
  constructor(value: T, message = "channel closed: the receiver is gone") {
    super(message);
    this.name = "SendError";
    this.value = value;
  }
}

/** Why {@link Sender.trySend} or {@link Sender.tryReserve} refused: the channel is full, or it is closed. */
export type TrySendErrorKind = "full" | "closed";

/**
 * Thrown by {@link Sender.trySend} (and {@link Sender.tryReserve}) when the value cannot be sent
 * without waiting. {@link TrySendError.kind} says why and {@link TrySendError.value} gives the value back.
 *
 * @example
 * ```ts
 * try {
 *   tx.trySend(sample);
 * } catch (err) {
 *   if (err instanceof TrySendError && err.kind === "full") dropped++; // load shedding
 *   else throw err;
 * }
 * ```
 */
export class TrySendError<T> extends Error {
  /** `"full"`: no free slot right now; `"closed"`: the channel will never accept it. */
  readonly kind: TrySendErrorKind;
  /** The value that was not sent (`undefined` for a refused `tryReserve`). */
  readonly value: T;

  /** @param kind why it was refused; @param value the refused value */
  constructor(kind: TrySendErrorKind, value: T) {
    super(kind === "full" ? "channel full" : "channel closed");
    this.name = "TrySendError";
    this.kind = kind;
    this.value = value;
  }
}
