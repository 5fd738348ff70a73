import { Chan } from "./chan.js";
import { Receiver } from "./receiver.js";
import { Sender } from "./sender.js";
import { positiveInteger } from "./validate.js";

/**
 * Creates a bounded multi-producer, single-consumer channel holding at most `capacity` values.
 * `send` waits while it is full: that wait is the backpressure.
 *
 * @param capacity an integer >= 1 (a safe integer, so not `Infinity`: use {@link unboundedChannel}).
 * @throws RangeError naming `capacity` otherwise.
 *
 * @example
 * ```ts
 * const [tx, rx] = channel<number>(4);
 * void (async () => {
 *   for (let i = 0; i < 10; i++) await tx.send(i); // waits while 4 are buffered
 *   tx.close();
 * })();
 * for await (const i of rx) console.log(i); // 0..9
 * ```
 */
export function channel<T>(capacity: number): [Sender<T>, Receiver<T>] {
  const chan = new Chan<T>(positiveInteger(capacity, "capacity"));
  return [new Sender(chan), new Receiver(chan)];
}

/**
 * Creates a channel without a bound: `send` never waits and `trySend` never reports "full".
 * Use it only where the producer is bounded some other way; memory grows with the backlog.
 *
 * @example
 * ```ts
 * const [tx, rx] = unboundedChannel<string>();
 * tx.trySend("never waits");
 * ```
 */
export function unboundedChannel<T>(): [Sender<T>, Receiver<T>] {
  const chan = new Chan<T>(Number.POSITIVE_INFINITY);
  return [new Sender(chan), new Receiver(chan)];
}
