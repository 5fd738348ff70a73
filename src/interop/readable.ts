import { Readable } from "node:stream";
import type { Receiver } from "../channel/index.js";

/** Options of {@link toReadable}. */
export interface ToReadableOptions {
  /** The Readable's own buffer, in values (default 1: the channel is the buffer). */
  highWaterMark?: number;
}

/**
 * A Node object-mode `Readable` that reads from `rx` with backpressure (Node streams cannot carry
 * `null`, which ends them: do not send `null` through a channel read this way): a value is taken from the
 * receiver only when the stream asks for one. The stream ends when the channel ends, errors with the
 * reason of a failed channel (`Sender.abort`), and destroying it closes the receiver (so producers get
 * their values back through `SendError`).
 *
 * @example
 * ```ts
 * import { pipeline } from "node:stream/promises";
 * await pipeline(toReadable(rx), new Transform({ objectMode: true, transform: encode }), process.stdout);
 * ```
 */
export function toReadable<T>(rx: Receiver<T>, options?: ToReadableOptions): Readable {
  return new Readable({
    objectMode: true,
    highWaterMark: options?.highWaterMark ?? 1,
    read() {
      rx.recv().then(
        (value) => this.push(value === undefined ? null : value),
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    },
    destroy(err, callback) {
      rx.close();
      callback(err);
    },
  });
}
