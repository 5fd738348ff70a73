import type { Receiver } from "../channel/index.js";

/**
 * A WHATWG `ReadableStream` that pulls from `rx`: one value per pull, so the channel stays the only
 * buffer (high-water mark 0). It closes when the channel ends, errors with the reason of a failed
 * channel, and cancelling it closes the receiver. It uses the runtime's global `ReadableStream`
 * (browsers, workers, Node 18 and later, Deno, Bun), so it is in the core entry and loads nothing.
 *
 * @example
 * ```ts
 * const body = toReadableStream(rx).pipeThrough(new TextEncoderStream());
 * return new Response(body);
 * ```
 */
export function toReadableStream<T>(rx: Receiver<T>): ReadableStream<T> {
  return new ReadableStream<T>(
    {
      async pull(controller) {
        const value = await rx.recv();
        if (value === undefined) controller.close();
        else controller.enqueue(value);
      },
      cancel() {
        rx.close();
      },
    },
    new CountQueuingStrategy({ highWaterMark: 0 }),
  );
}
