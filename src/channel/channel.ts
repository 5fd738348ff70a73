import { Chan } from "./chan.js";
import { type ChannelOptions, chanWith } from "./overflow.js";
import { Receiver } from "./receiver.js";
import { Sender } from "./sender.js";
import { positiveInteger } from "./validate.js";

/**
 * Creates a bounded multi-producer, single-consumer channel holding at most `capacity` values.
 * `send` waits while it is full: that wait is the backpressure.
 *
 * With `overflow: "drop-oldest"` or `"drop-newest"` a full channel drops a value instead: `send`
 * and `trySend` never wait nor report "full", every dropped value goes to `onDrop`, and
 * {@link Sender.dropped} / {@link Receiver.dropped} count them. Use it where the latest values matter
 * more than every value (telemetry, progress) and the producer must never be slowed; keep the default
 * `"wait"` where every value matters.
 *
 * @param capacity an integer >= 1 (a safe integer, so not `Infinity`: use {@link unboundedChannel}).
 * @param options `overflow` (`"wait"` by default) and `onDrop` (only with a drop policy).
 * @throws RangeError naming `capacity` or `overflow`, TypeError naming `options` or `onDrop`, when
 * one is not what it should be.
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
 *
 * @example
 * ```ts
 * const [tx, rx] = channel<number>(2, { overflow: "drop-oldest", onDrop: (v) => console.log("dropped", v) });
 * for (let i = 0; i < 5; i++) await tx.send(i); // never waits: drops 0, 1, 2
 * console.log(rx.dropped, rx.tryRecv(), rx.tryRecv()); // 3, { ok: true, value: 3 }, { ok: true, value: 4 }
 * ```
 */
export function channel<T>(capacity: number, options?: ChannelOptions<T>): [Sender<T>, Receiver<T>] {
  const chan = chanWith<T>(positiveInteger(capacity, "capacity"), options);
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
