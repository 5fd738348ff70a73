/**
 * # grpc-mpsc/node: channels as Node streams
 *
 * {@link toReadable} reads a `Receiver` as a Node object-mode `Readable`, with backpressure: a value
 * is taken from the channel only when the stream asks for one, so `pipeline(toReadable(rx), ...)`
 * slows the producers to the pace of the slowest stage.
 *
 * It lives in an entry of its own because it imports `node:stream`: the core entry `grpc-mpsc` imports
 * no Node built-in, so that it bundles for browsers and runs on every JavaScript runtime. (grpc-mpsc 0.1
 * exported it from `grpc-mpsc`.) Bun and Deno provide `node:stream`, so this entry runs there too. The
 * other direction needs nothing from here: a Node `Readable` is an async iterable, which `pipe` from
 * `grpc-mpsc` feeds into a `Sender`.
 *
 * @example
 * ```ts
 * import { Writable } from "node:stream";
 * import { pipeline } from "node:stream/promises";
 * import { channel } from "grpc-mpsc";
 * import { toReadable } from "grpc-mpsc/node";
 *
 * const [tx, rx] = channel<string>(4);
 * const producing = (async () => {
 *   for (const line of ["one", "two", "three"]) await tx.send(line);
 *   tx.close();
 * })();
 * await pipeline(
 *   toReadable(rx),
 *   new Writable({
 *     objectMode: true,
 *     write(line: string, _encoding, done) {
 *       console.log(line);
 *       done();
 *     },
 *   }),
 * );
 * await producing;
 * ```
 *
 * @module
 */
export { type ToReadableOptions, toReadable } from "../interop/readable.js";
