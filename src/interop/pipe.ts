import { invalidType, SendError, type Sender } from "../channel/index.js";

/** Options of {@link pipe}. */
export interface PipeOptions {
  /** Stops reading the source: `pipe` aborts `tx` with `signal.reason` and rejects with it. */
  signal?: AbortSignal;
  /** Close `tx` when the source ends (default `true`). */
  close?: boolean;
}

/**
 * Feeds any `AsyncIterable` (an async generator, a Node `Readable`, an it-pushable, another
 * `Receiver`) into a {@link Sender}, with backpressure: the next value is read from the source only
 * once the previous one is in the channel.
 *
 * - When the source ends, `tx` is closed (unless `close: false`) and the promise resolves.
 * - When the receiver closes, reading stops at once (the source's iterator is returned, so a Node
 *   stream is destroyed and a generator's `finally` runs) and the promise resolves: nobody listens.
 * - When the source throws, `tx` is aborted with that error (the receiver rejects with it after the
 *   values already sent) and the promise rejects with it.
 * - A source that is not iterable (async or sync) aborts `tx` with a `TypeError` and rejects with it.
 *
 * @returns how many values were sent.
 *
 * @example
 * ```ts
 * const [tx, rx] = channel<string>(64);
 * void pipe(createReadStream("big.log").pipe(split()), tx);
 * for await (const line of rx) handle(line);
 * ```
 */
export async function pipe<T>(
  source: AsyncIterable<T> | Iterable<T>,
  tx: Sender<T>,
  options?: PipeOptions,
): Promise<number> {
  const signal = options?.signal;
  let sent = 0;
  let iterator: AsyncIterator<T>;
  try {
    iterator = iteratorOf(source);
  } catch (err) {
    tx.abort(err); // the consumer learns at once instead of waiting for values that never come
    throw err;
  }
  const stop = new Promise<never>((_, reject) => {
    const onAbort = (): void => reject(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  stop.catch(() => {});
  try {
    for (;;) {
      const next = await (signal ? Promise.race([iterator.next(), stop]) : iterator.next());
      if (next.done) break;
      try {
        await tx.send(next.value, { signal });
      } catch (err) {
        if (err instanceof SendError) {
          await iterator.return?.();
          return sent; // the receiver is gone
        }
        throw err;
      }
      sent++;
    }
  } catch (err) {
    tx.abort(err);
    await iterator.return?.().catch(() => {});
    throw err;
  }
  if (options?.close !== false) tx.close();
  return sent;
}

/** The iterator of an async iterable, or of a sync one as for-await reads it; a TypeError for anything else. */
function iteratorOf<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  const candidate = source as Partial<AsyncIterable<T> & Iterable<T>> | null | undefined;
  const asyncIterator = candidate?.[Symbol.asyncIterator];
  if (typeof asyncIterator === "function") return asyncIterator.call(candidate);
  if (typeof candidate?.[Symbol.iterator] === "function") {
    const values = candidate as Iterable<T>;
    return (async function* () {
      yield* values;
    })();
  }
  throw invalidType("source", "an async iterable or an iterable", source);
}
