/**
 * call reads -> `Receiver`.
 *
 * @module
 */
import { channel, type Receiver } from "../index.js";
import type { ReadableCall } from "./call-types.js";
import { capacityOption } from "./options.js";
import { cancelledError, GrpcError } from "./status.js";

/** Options of {@link receiveFrom}. */
export interface ReceiveOptions {
  /** How many messages the receiver buffers before the call stops being read (default 16). */
  capacity?: number;
}

/** @internal What the higher-level adapters learn from a read pump. */
export interface ReadHooks {
  /** The consumer closed the receiver before the call's stream ended. */
  onConsumerGone?: () => void;
}

/**
 * Turns the reads of a call into a {@link Receiver}.
 *
 * Flow control: messages are taken from the call only while the receiver has room; when it is full
 * the call is paused, so grpc-js stops asking HTTP/2 for more and the peer's writes wait on the
 * flow-control window. At most `capacity` messages wait in the receiver, plus grpc-js's own small
 * object-mode buffer (16 messages).
 *
 * The receiver ends when the peer half-closes, and once the messages read so far are received it
 * rejects with a {@link GrpcError} (code, details, metadata) when the call fails or is cancelled.
 * Closing the receiver early stops reading the call (it does not cancel it).
 *
 * @param call a server call (duplex or client-streaming) or a client call (duplex or server-streaming)
 * @throws RangeError if `options.capacity` is not an integer >= 1
 *
 * @example
 * ```ts
 * // inside a raw grpc-js bidi handler
 * const requests = receiveFrom(call, { capacity: 64 });
 * for await (const req of requests) handle(req);
 * ```
 */
export function receiveFrom<T>(call: ReadableCall<T>, options?: ReceiveOptions): Receiver<T> {
  return readCall(call, capacityOption(options?.capacity, "capacity"), {});
}

/** @internal {@link receiveFrom} with hooks for the call helpers. */
export function readCall<T>(call: ReadableCall<T>, capacity: number, hooks: ReadHooks): Receiver<T> {
  const [tx, rx] = channel<T>(capacity);
  /** Messages that arrived while a send was parked (grpc-js may emit one more after pause()). */
  const backlog: T[] = [];
  let parked = false;
  let streamEnded = false;
  let ending: (() => void) | undefined;

  const settle = (finish: () => void): void => {
    if (ending !== undefined || streamEnded) return;
    ending = finish;
    if (!parked) finishNow();
  };
  const finishNow = (): void => {
    streamEnded = true;
    detach();
    ending?.();
  };
  const onData = (message: T): void => {
    if (parked) {
      backlog.push(message);
      return;
    }
    if (tx.isClosed) return; // the consumer is gone: consumerGone() runs in a moment
    if (tx.capacity > 0) {
      tx.trySend(message);
      return;
    }
    parked = true;
    call.pause();
    tx.send(message).then(unpark, consumerGone);
  };
  const unpark = (): void => {
    while (backlog.length > 0) {
      const message = backlog.shift() as T;
      if (tx.capacity > 0) {
        tx.trySend(message);
      } else {
        tx.send(message).then(unpark, consumerGone);
        return;
      }
    }
    parked = false;
    if (ending !== undefined) finishNow();
    else call.resume();
  };
  const onEnd = (): void => settle(() => tx.close());
  const onError = (err: unknown): void => settle(() => tx.abort(GrpcError.from(err)));
  // A server call that is cancelled is destroyed without 'end' or 'error': 'close' comes first.
  const onClose = (): void => settle(() => tx.abort(cancelledError()));
  const consumerGone = (): void => {
    if (streamEnded) return;
    streamEnded = true;
    backlog.length = 0;
    detach();
    call.pause();
    hooks.onConsumerGone?.();
  };
  const detach = (): void => {
    call.removeListener("data", onData);
    call.removeListener("end", onEnd);
    call.removeListener("close", onClose);
    // The 'error' listener stays: an 'error' with no listener would crash the process.
  };

  call.on("error", onError);
  call.on("end", onEnd);
  call.on("close", onClose);
  call.on("data", onData);
  tx.closed().then(() => {
    if (!streamEnded) consumerGone();
  });
  return rx;
}
