/**
 * # grpc-mpsc/concurrent: consume a receiver with bounded concurrency
 *
 * {@link mapConcurrent} runs an async function over every value of a `Receiver`, at most
 * `concurrency` at a time (scheduled by p-queue), and returns the results as another `Receiver`, in
 * input order or in completion order. Backpressure holds end to end: a value is taken from the input
 * only while fewer than `concurrency` calls are running, and a finished call waits while the output is
 * full, so a slow consumer of the results slows the whole pipeline instead of growing a buffer.
 *
 * ESM only (p-queue is an ES module); the core entry `grpc-mpsc` does not load this one.
 *
 * @example
 * ```ts
 * import { channel } from "grpc-mpsc";
 * import { mapConcurrent } from "grpc-mpsc/concurrent";
 *
 * const [tx, urls] = channel<string>(16);
 * const pages = mapConcurrent(urls, async (url, signal) => (await fetch(url, { signal })).text(), {
 *   concurrency: 4,
 *   ordered: true,
 * });
 * for await (const page of pages) console.log(page.length);
 * ```
 *
 * @module
 */
import PQueue from "p-queue";
import { channel, positiveInteger, type Receiver, SendError } from "../channel/index.js";

/** Options of {@link mapConcurrent}. */
export interface MapConcurrentOptions {
  /** How many calls run at once: an integer >= 1. */
  concurrency: number;
  /** Emit results in input order (`true`, the default) or as they complete (`false`). */
  ordered?: boolean;
  /** Capacity of the results receiver (default: `concurrency`). */
  capacity?: number;
}

/**
 * Maps `fn` over the values of `input`, at most `concurrency` calls at a time, into a new receiver.
 *
 * - The results receiver ends when `input` ends and every call finished.
 * - If a call rejects, or `input` fails, the results receiver rejects with that error (after the
 *   results already emitted), `input` is closed and the `signal` given to running calls aborts.
 * - Closing the results receiver (or leaving its `for await` early) closes `input` and aborts the
 *   running calls' `signal`.
 *
 * @param fn called with each value and an `AbortSignal` that aborts when the pipeline stops.
 * @throws RangeError if `concurrency` or `capacity` is not an integer from 1 up.
 */
export function mapConcurrent<T, R>(
  input: Receiver<T>,
  fn: (value: T, signal: AbortSignal) => Promise<R>,
  options: MapConcurrentOptions,
): Receiver<R> {
  const { concurrency, ordered = true } = options;
  positiveInteger(concurrency, "concurrency");
  const capacity =
    options.capacity === undefined ? concurrency : positiveInteger(options.capacity, "capacity");
  const [out, results] = channel<R>(capacity);
  const queue = new PQueue({ concurrency });
  const stop = new AbortController();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown): void => {
    if (failure !== undefined) return;
    failure = { error };
    input.close();
    stop.abort(error);
    if (error instanceof SendError)
      out.close(); // the results receiver is gone: nothing to report
    else out.abort(error);
  };
  // The results receiver closed: stop taking input and abort the running calls.
  void out.closed().then(() => fail(new SendError(undefined, "the results receiver is closed")));

  // Ordered emission: a finished call waits (holding its concurrency slot) until every earlier result
  // was sent, so a slow head of line stops new input instead of piling results up.
  const done = new Map<number, { result: R; sent: () => void; failed: (err: unknown) => void }>();
  let nextToEmit = 0;
  let emitting: Promise<void> = Promise.resolve();
  const emit = (index: number, result: R): Promise<void> => {
    if (!ordered) return out.send(result);
    const mine = new Promise<void>((sent, failed) => done.set(index, { result, sent, failed }));
    emitting = emitting.then(async () => {
      for (let next = done.get(nextToEmit); next !== undefined; next = done.get(nextToEmit)) {
        done.delete(nextToEmit);
        nextToEmit++;
        try {
          await out.send(next.result);
        } catch (err) {
          // The results receiver is gone or failed: release every call still waiting its turn.
          next.failed(err);
          for (const waiting of done.values()) waiting.failed(err);
          done.clear();
          return;
        }
        next.sent();
      }
    });
    return mine;
  };

  void (async () => {
    let index = 0;
    try {
      for (;;) {
        // Take a value only once a call can start on it: running plus queued calls stay within
        // `concurrency`, so no more than that many values are held between input and output.
        while (queue.pending + queue.size >= concurrency) {
          await new Promise<void>((resolve) => queue.once("next", resolve));
        }
        if (failure !== undefined) break;
        const value = await input.recv();
        if (value === undefined || failure !== undefined) break;
        const i = index++;
        queue
          .add(async () => {
            await emit(i, await fn(value, stop.signal));
          })
          .catch(fail);
      }
      await queue.onIdle();
      await emitting;
      if (failure === undefined) out.close();
    } catch (error) {
      fail(error);
    }
  })();
  return results;
}
