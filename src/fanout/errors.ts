/**
 * What the fan-out channels report besides values: a broadcast receiver's lag, and a watch whose
 * senders are gone. Both keep `instanceof` across copies of this package, as the core's errors do.
 *
 * @module
 */
import { brand } from "../channel/index.js";

/**
 * A broadcast receiver fell more than `capacity` values behind: the `missed` oldest values it had
 * not received were overwritten, and it goes on with the oldest value still held. `recv`, `tryRecv`
 * and `for await` hand it over in place of a value, once per gap, so a gap is never silent. It is a
 * result, not an exception: a slow consumer decides what a gap means (log it, resynchronise from a
 * snapshot, tell its client "you missed N"), and its loop goes on.
 *
 * It has the shape of a failed {@link TryRecvResult} (`ok: false`), so `tryRecv` answers one type.
 *
 * @example
 * ```ts
 * for await (const item of rx) {
 *   if (item instanceof Lagged) console.warn(`missed ${item.missed} updates`);
 *   else render(item);
 * }
 * ```
 */
export class Lagged {
  static {
    brand(Lagged, "Lagged");
  }

  /** Always `false`: no value this time. */
  readonly ok: false = false;
  /** Always `"lagged"`. */
  readonly reason: "lagged" = "lagged";
  /** How many values this receiver lost: sent after it subscribed, overwritten before it read them. */
  readonly missed: number;

  /** @param missed how many values were lost */
  constructor(missed: number) {
    this.missed = missed;
  }
}

/**
 * A watch receiver waited for a change that can no longer come: every sender is gone and this
 * receiver has seen the last value (or the receiver itself was closed). Tokio's `watch::error::RecvError`.
 *
 * @example
 * ```ts
 * try {
 *   await rx.changed();
 * } catch (err) {
 *   if (err instanceof RecvError) return; // the publisher is gone; rx.borrow() is its last value
 *   throw err;
 * }
 * ```
 */
export class RecvError extends Error {
  static {
    brand(RecvError, "RecvError");
  }

  /** @param message what closed */
  constructor(message = "watch channel closed: every sender is gone") {
    super(message);
    this.name = "RecvError";
  }
}
