/**
 * Errors of the channel core. Every error that stands for a refused value carries that value back,
 * so nothing handed to a sender is ever dropped silently.
 *
 * `instanceof SendError` and `instanceof TrySendError` hold across copies of this package (its ESM and
 * CommonJS builds, or two installed versions), so a check in one module recognises an error made by
 * another.
 *
 * @module
 */
import { brand } from "./brand.js";

/** The default message of a {@link SendError}. */
const RECEIVER_GONE = "channel closed: the receiver is gone";

/**
 * A value could not be sent because the channel is closed: the receiver was closed (or left its
 * `for await` loop), or the `Sender` handle used was itself closed. The refused value is in
 * {@link SendError.value}; where the channel was closed because something ended (a gRPC call, say),
 * `cause` says what.
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
  static {
    brand(SendError, "SendError");
  }

  /** The value that was not sent (`undefined` for a refused `reserve`). */
  readonly value: T;

  /**
   * @param value the refused value
   * @param message what was closed
   * @param options `cause`: why it was closed
   */
  constructor(value: T, message = RECEIVER_GONE, options?: ErrorOptions) {
    super(message, options);
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
  static {
    brand(TrySendError, "TrySendError");
  }

  /** `"full"`: no free slot right now; `"closed"`: the channel will never accept it. */
  readonly kind: TrySendErrorKind;
  /** The value that was not sent (`undefined` for a refused `tryReserve`). */
  readonly value: T;

  /**
   * @param kind why it was refused
   * @param value the refused value
   * @param options `cause`: why the channel was closed, for `"closed"`
   */
  constructor(kind: TrySendErrorKind, value: T, options?: ErrorOptions) {
    super(kind === "full" ? "channel full" : "channel closed", options);
    this.name = "TrySendError";
    this.kind = kind;
    this.value = value;
  }
}

/**
 * Why {@link Sender.sendTimeout} refused: the wait timed out, or the channel is closed.
 *
 * @example
 * ```ts
 * const worthRetrying: Record<SendTimeoutErrorKind, boolean> = { timeout: true, closed: false };
 * if (err instanceof SendTimeoutError && worthRetrying[err.kind]) await tx.sendTimeout(err.value, 1000);
 * ```
 */
export type SendTimeoutErrorKind = "timeout" | "closed";

/**
 * Rejects {@link Sender.sendTimeout} when the value was not sent: the channel stayed full for the
 * whole timeout (`kind` `"timeout"`: nothing was enqueued), or it is closed (`"closed"`). As every
 * refusal here, it gives the value back in {@link SendTimeoutError.value}. Tokio's `SendTimeoutError`.
 *
 * @example
 * ```ts
 * try {
 *   await tx.sendTimeout(job, 100);
 * } catch (err) {
 *   if (err instanceof SendTimeoutError && err.kind === "timeout") backlog.push(err.value);
 *   else throw err;
 * }
 * ```
 */
export class SendTimeoutError<T> extends Error {
  static {
    brand(SendTimeoutError, "SendTimeoutError");
  }

  /**
   * @param kind why it was refused: `"timeout"`, the channel stayed full until the timeout;
   * `"closed"`, it will never accept the value
   * @param value the value that was not sent
   * @param options `cause`: why the channel was closed, for `"closed"`
   */
  constructor(
    readonly kind: SendTimeoutErrorKind,
    readonly value: T,
    options?: ErrorOptions,
  ) {
    super(kind === "timeout" ? "send timed out: the channel stayed full" : "channel closed", options);
    this.name = "SendTimeoutError";
  }
}
