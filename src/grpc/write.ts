/**
 * `Receiver` -> call writes.
 *
 * @module
 */
import type { Receiver } from "../index.js";
import type { WritableCall } from "./call-types.js";
import { cancelledError, GrpcError } from "./status.js";

/** Options of {@link sendTo}. */
export interface SendToOptions {
  /** End the call (`call.end()`) when the receiver ends (default `true`). */
  end?: boolean;
}

/**
 * Watches a call for the events that end its writable side, so that a wait for 'drain' can never
 * hang: grpc-js never calls back (nor drains) a server write after the client cancelled.
 */
class CallWatch {
  readonly #call: WritableCall<unknown>;
  readonly #onDeath: () => void;
  #drained: (() => void) | undefined;
  #died: ((err: unknown) => void) | undefined;
  #error: GrpcError | undefined;

  constructor(call: WritableCall<unknown>, onDeath: () => void) {
    this.#call = call;
    this.#onDeath = onDeath;
    call.on("drain", this.#onDrain);
    call.on("error", this.#onError);
    call.on("cancelled", this.#onCancelled);
    call.on("close", this.#onCancelled);
  }

  /** Why the call died, once it did. */
  get error(): GrpcError | undefined {
    return this.#error;
  }

  /** Resolves on 'drain'; rejects if the call dies first. */
  drain(): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise<void>((resolve, reject) => {
      this.#drained = resolve;
      this.#died = reject;
    });
  }

  dispose(): void {
    const call = this.#call;
    call.removeListener("drain", this.#onDrain);
    call.removeListener("cancelled", this.#onCancelled);
    call.removeListener("close", this.#onCancelled);
    // The 'error' listener stays: an 'error' with no listener would crash the process.
  }

  #onDrain = (): void => {
    const resolve = this.#drained;
    this.#drained = this.#died = undefined;
    resolve?.();
  };

  #onError = (err: unknown): void => this.#die(GrpcError.from(err));

  #onCancelled = (): void => this.#die(cancelledError());

  #die(err: GrpcError): void {
    if (this.#error !== undefined) return;
    this.#error = err;
    const reject = this.#died;
    this.#drained = this.#died = undefined;
    this.#onDeath();
    reject?.(err);
  }
}

/**
 * Drains a {@link Receiver} into the writes of a call, with backpressure: it writes while `write()`
 * returns `true`, then waits for 'drain', racing it against the call's end ('cancelled', 'close',
 * 'error') so it can never hang on a dead call.
 *
 * - When the receiver ends, the call is ended (`call.end()`), unless `options.end` is `false`.
 * - When the receiver fails (its sender called `abort(err)`), a server call is finished with the
 *   status of `GrpcError.from(err)` and a client call is cancelled; the returned promise rejects.
 * - When the call dies first, the receiver is closed (so its senders get their values back through
 *   `SendError`) and the promise rejects with a {@link GrpcError}. Messages already taken from the
 *   receiver were handed to the call; those still buffered in the receiver are not sent.
 *
 * @returns resolves once every message was handed to the call (and the call ended).
 *
 * @example
 * ```ts
 * const [responses, out] = channel<Res>(16);
 * const done = sendTo(call, out); // call: a grpc-js server or client call
 * await responses.send(first);
 * responses.close();               // sendTo ends the call after `first` is written
 * await done;
 * ```
 */
export async function sendTo<T>(
  call: WritableCall<T>,
  rx: Receiver<T>,
  options?: SendToOptions,
): Promise<void> {
  // When the call dies, closing the receiver rejects every waiting sender with its value and ends a
  // parked `recv` (no abort signal per recv: that would cost a listener per message).
  const watch = new CallWatch(call, () => rx.close());
  try {
    for (;;) {
      if (watch.error !== undefined) throw watch.error;
      let next: T | undefined;
      const now = rx.tryRecv();
      if (now.ok) next = now.value;
      else if (now.reason === "closed") break;
      else {
        next = await rx.recv();
        if (next === undefined || watch.error !== undefined) break;
      }
      if (!call.write(next)) await watch.drain();
    }
    if (watch.error !== undefined) throw watch.error;
    if (options?.end !== false) call.end();
  } catch (err) {
    rx.close();
    if (err === watch.error) throw err;
    // The receiver failed: its producer aborted with `err`.
    const status = GrpcError.from(err);
    if (typeof call.cancel === "function") call.cancel();
    else call.emit("error", status);
    throw status;
  } finally {
    watch.dispose();
  }
}
