/**
 * Sends -> call writes: the writer behind a handler's `responses` and a client's `tx`, and
 * {@link sendTo} for a `Receiver` of your own.
 *
 * @module
 */

import { status } from "@grpc/grpc-js";
import { type ClosedBy, type Receiver, Sender, SinkChan } from "../channel/index.js";
import type { WritableCall } from "./call-types.js";
import { type ClientOutcome, watchClientCall } from "./client-end.js";
import { endedBy } from "./ended-by.js";
import { ignore } from "./ignore.js";
import { OwnedSink, type WriteOwner } from "./owned-sink.js";
import { type ServerCallLike, watchServerCall } from "./server-end.js";
import { GrpcError, isExplicitStatus, statusError } from "./status.js";

export type { WriteOwner };
export { endedBy };

/**
 * Hands sent values to a call's `write()` inside `send`, so that a resolved send means the message
 * was handed to a live call. At most `capacity` messages are written and not yet called back by the
 * call (they are in grpc-js's buffers, on their way to the HTTP/2 window); beyond that, senders wait
 * in line until a write completes. When the call ends, every handle learns it at once: parked sends
 * reject with `SendError` carrying their values, later sends are refused, `closed()` resolves.
 */
export class CallWriter<T> extends OwnedSink<T> {
  readonly chan: SinkChan<T>;
  readonly #call: WritableCall<T>;
  readonly #capacity: number;
  /** Messages written whose write callback has not run yet. */
  #pending = 0;
  /** Messages handed to the call's `write()` (for the call's metrics and trace). */
  messages = 0;
  /** Bytes of those that were byte arrays (grpc-js reports no serialized size). */
  bytes = 0;

  constructor(call: WritableCall<T>, capacity: number, owner: WriteOwner) {
    super(owner);
    this.chan = new SinkChan(capacity, this);
    this.#call = call;
    this.#capacity = capacity;
  }

  /** A sender handle into the call (the writer keeps only its channel, so handles can be collected). */
  sender(): Sender<T> {
    return new Sender(this.chan);
  }

  get room(): number {
    return this.#capacity - this.#pending;
  }

  take(value: T): void {
    if (this.chan.rxClosed) {
      // Only a permit reserved before the call ended gets here: its value cannot reach anybody.
      this.owner.unobserved(this.chan.refusal(value));
      return;
    }
    this.#pending++;
    try {
      this.#call.write(value, this.#written);
      this.messages++;
      if (value instanceof Uint8Array) this.bytes += value.byteLength;
    } catch (err) {
      // Node refuses some values outright (object-mode streams cannot carry `null`).
      this.#pending--;
      this.owner.writesAborted(err);
    }
  }

  /** The call ended: no value is taken any more; parked senders get theirs back with `by`. */
  callEnded(by: ClosedBy): void {
    this.chan.closeReceiver(by);
  }

  #written = (): void => {
    this.#pending--;
    if (this.chan.sendWaiters.head !== null) this.chan.grant();
  };
}

/** Options of {@link sendTo}. */
export interface SendToOptions {
  /** End the call (`call.end()`) when the receiver ends (default `true`). */
  end?: boolean;
}

/** Watches any writable call for its end: a grpc-js client call, a server call, or a plain stream. */
function watchEnd(call: WritableCall<unknown>, ended: (reason: GrpcError) => void): () => void {
  if (typeof call.cancel === "function") {
    const end = watchClientCall(
      call as { cancel(): void; on: WritableCall<unknown>["on"] },
      (o: ClientOutcome) =>
        ended(o instanceof GrpcError ? o : statusError(status.CANCELLED, "the call ended (OK)")),
    );
    return () => end.cancelWith(statusError(status.CANCELLED, "cancelled: the call's writer failed"));
  }
  if ("cancelled" in call && typeof (call as { getDeadline?: unknown }).getDeadline === "function") {
    const end = watchServerCall(call as unknown as ServerCallLike, ended);
    return () => end.finish();
  }
  const onClose = (): void => ended(statusError(status.CANCELLED, "the stream closed"));
  call.on("error", ignore);
  call.on("close", onClose);
  return () => call.removeListener("close", onClose);
}

/**
 * Drains a {@link Receiver} into the writes of a call, with backpressure: a message is taken from the
 * receiver only while the call can take it (at most 16 written and not yet on their way to the
 * HTTP/2 window), and the wait for room races the call's end, so it never hangs on a dead call.
 *
 * - When the receiver ends, the call is ended (`call.end()`), unless `options.end` is `false`.
 * - When the receiver fails (its sender called `abort(err)`), a server call is finished with the
 *   status of `err` if it is a {@link GrpcError} (else `UNKNOWN`), a client call is cancelled; the
 *   returned promise rejects with `err`.
 * - When the call ends first, the receiver is closed (its senders get their values back through
 *   `SendError`; values still buffered in it stay receivable) and the promise rejects with a
 *   {@link GrpcError} that says why. Every message taken from the receiver was handed to the call.
 *
 * @returns resolves once every message was handed to the call (and the call was ended).
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
  let callError: GrpcError | undefined;
  const writer = new CallWriter<T>(call, 16, {
    writesEnded: () => {
      if (options?.end !== false) call.end();
    },
    writesAborted: ignore,
    writesAbandoned: ignore,
    unobserved: ignore,
  });
  const stopWatching = watchEnd(call, (reason) => {
    callError = reason;
    writer.callEnded(endedBy(reason));
    rx.close(); // a parked recv ends: no value is taken that could not be written
  });
  const tx = writer.sender();
  try {
    for (;;) {
      const permit = await tx.reserve().catch(() => undefined);
      if (permit === undefined) break; // the call ended
      let value: T | undefined;
      try {
        const now = rx.tryRecv();
        value = now.ok ? now.value : now.reason === "closed" ? undefined : await rx.recv();
      } catch (err) {
        permit.release();
        throw err;
      }
      if (value === undefined) {
        permit.release();
        break;
      }
      permit.send(value);
    }
  } catch (err) {
    // The receiver failed: its producer aborted with `err`.
    rx.close();
    if (callError === undefined) {
      if (typeof call.cancel === "function") stopWatching();
      else call.emit("error", isExplicitStatus(err) ? err : statusError(status.UNKNOWN, "internal error"));
    }
    throw err;
  }
  if (callError !== undefined) throw callError;
  tx.close();
  if (typeof call.cancel !== "function") stopWatching();
}
