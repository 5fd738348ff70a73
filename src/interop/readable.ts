import { Readable } from "node:stream";
import type { Receiver } from "../channel/index.js";

/** Options of {@link toReadable}. */
export interface ToReadableOptions {
  /** The Readable's own buffer, in values (default 1: the channel is the buffer). */
  highWaterMark?: number;
}

/**
 * A Node object-mode `Readable` that reads from `rx` with backpressure: a value is taken from the
 * receiver only when the stream asks for one. The stream ends when the channel ends, errors with the
 * reason of a failed channel (`Sender.abort`), and destroying it closes the receiver (so producers get
 * their values back through `SendError`). Node streams cannot carry `null` (it would end them): a
 * `null` read from the channel errors the stream with a TypeError instead of cutting it short, and
 * the values after it stay in the closed receiver.
 *
 * @example
 * ```ts
 * import { pipeline } from "node:stream/promises";
 * await pipeline(toReadable(rx), new Transform({ objectMode: true, transform: encode }), process.stdout);
 * ```
 */
export function toReadable<T>(rx: Receiver<T>, options?: ToReadableOptions): Readable {
  if (typeof (rx as { recv?: unknown } | null)?.recv !== "function") {
    throw new TypeError(`Expected \`rx\` to be a Receiver, got ${rx === null ? "null" : typeof rx}`);
  }
  return new Readable({
    objectMode: true,
    highWaterMark: options?.highWaterMark ?? 1,
    read() {
      rx.recv().then(
        (value) => {
          if (value === null)
            this.destroy(new TypeError("cannot carry null in a Node stream: it would end it"));
          else this.push(value === undefined ? null : value);
        },
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    },
    destroy(err, callback) {
      rx.close();
      callback(err);
    },
  });
}
