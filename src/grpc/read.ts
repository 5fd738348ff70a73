/**
 * call reads -> `Receiver`: the read pump.
 *
 * @module
 */
import { status } from "@grpc/grpc-js";
import { Chan, type ClosedBy, Receiver } from "../channel/index.js";
import type { ReadableCall } from "./call-types.js";
import { type ClientCallLike, type ClientOutcome, watchClientCall } from "./client-end.js";
import { capacityOption } from "./options.js";
import { type ServerCallLike, watchServerCall } from "./server-end.js";
import { GrpcError, statusError } from "./status.js";

/** What a read pump tells the owner of its call. */
export interface ReadOwner {
  /**
   * The call's messages ended ('end'): each one was handed to the receiver or is parked. Whether that
   * is a clean end is the owner's to say, through {@link ReadPump.finish}.
   */
  readEnded(): void;
  /** The consumer closed the receiver (or left its `for await` early) before the end. */
  consumerClosed(): void;
  /** The receiver was garbage-collected unclosed: nobody can read what comes any more. */
  consumerAbandoned(): void;
}

/** Messages go straight into the receiver while it has room. */
const READING = 0;
/** The receiver is full: one message waits in the channel's send line and the call is paused. */
const PARKED = 1;
/** The receiver was collected: messages are read and dropped, so the call is not stalled for nobody. */
const DISCARDING = 2;
/** The consumer closed the receiver: the call is paused and no longer read. */
const STOPPED = 3;
/** The receiver has its end (closed, or failed with the call's error). */
const DONE = 4;
type State = typeof READING | typeof PARKED | typeof DISCARDING | typeof STOPPED | typeof DONE;

/** A parked message was refused: the receiver closed or was collected, and that handled the rest. */
function dropped(): void {}

/** The pump's channel: it tells the pump when its receiver closes or is collected. */
class PumpChan<T> extends Chan<T> {
  readonly pump: ReadPump<T>;

  constructor(bound: number, pump: ReadPump<T>) {
    super(bound);
    this.pump = pump;
  }

  override closeReceiver(by?: ClosedBy): void {
    if (this.rxClosed) return;
    super.closeReceiver(by);
    this.pump.receiverClosed();
  }

  override receiverCollected(): void {
    this.pump.receiverCollected();
  }
}

/**
 * Reads a call into a channel with backpressure: while the channel is full the call is paused, so
 * grpc-js stops asking HTTP/2 for more and the peer's writes wait on the flow-control window. It
 * reacts to two events of the call, 'data' and 'end'; how the call ended is told by its owner
 * ({@link ReadPump.finish}), which watches the events that differ between client and server calls.
 */
export class ReadPump<T> {
  readonly chan: PumpChan<T>;
  readonly #call: ReadableCall<T>;
  readonly #owner: ReadOwner;
  #state: State = READING;
  /** Messages emitted after the pump paused the call (one may already be on its way). */
  #backlog: T[] | null = null;
  /** How the channel ends once the parked messages are in: `null` closes it, an error fails it. */
  #outcome: Error | null | undefined;
  /** {@link ReadPump.#unparked} as a listener, made when the pump first parks (an idle stream never does). */
  #onUnparked: (() => void) | undefined;
  /** Messages read from the call (for the call's metrics and trace). */
  messages = 0;
  /** Bytes of those that were byte arrays (grpc-js reports no serialized size). */
  bytes = 0;

  constructor(call: ReadableCall<T>, capacity: number, owner: ReadOwner) {
    this.chan = new PumpChan(capacity, this);
    this.#call = call;
    this.#owner = owner;
    call.on("data", this.#onData);
    call.on("end", this.#onEnd);
  }

  /** The receiver of the call's messages (the pump keeps only its channel, so it can be collected). */
  receiver(): Receiver<T> {
    return new Receiver(this.chan);
  }

  /**
   * Ends the receiver after the messages already read: `null` ends it cleanly, an error makes it
   * reject with that error. The first call wins.
   */
  finish(outcome: Error | null): void {
    if (this.#state === DONE || this.#outcome !== undefined) return;
    this.#outcome = outcome;
    if (this.#state !== PARKED) this.#settle();
  }

  /** The consumer closed the receiver (called by the channel). */
  receiverClosed(): void {
    const state = this.#state;
    if (state !== READING && state !== PARKED) return;
    this.#state = STOPPED;
    this.#backlog = null;
    this.#detach();
    this.#call.pause();
    this.#owner.consumerClosed();
  }

  /** The receiver was collected open (called by the channel's finalizer). */
  receiverCollected(): void {
    const state = this.#state;
    if (state !== READING && state !== PARKED) return;
    this.#state = DISCARDING;
    this.#backlog = null;
    this.chan.closeReceiver(); // releases a parked message: nobody can receive it
    this.#call.resume();
    this.#owner.consumerAbandoned();
  }

  #onData = (message: T): void => {
    this.messages++;
    if (message instanceof Uint8Array) this.bytes += message.byteLength;
    const state = this.#state;
    if (state === READING) {
      const chan = this.chan;
      if (chan.free > 0) {
        chan.deliver(message);
        return;
      }
      this.#state = PARKED;
      this.#call.pause();
      this.#park(message);
    } else if (state === PARKED) {
      if (this.#backlog === null) this.#backlog = [message];
      else this.#backlog.push(message);
    }
    // DISCARDING: nobody can read it. STOPPED, DONE: a straggler after the listener went.
  };

  /** Parks `message` in the channel's send line: the pump goes on when it is taken. */
  #park(message: T): void {
    this.#onUnparked ??= () => this.#unparked();
    this.chan.parkSend(message, undefined).then(this.#onUnparked, dropped);
  }

  #unparked(): void {
    if (this.#state !== PARKED) return;
    const chan = this.chan;
    const backlog = this.#backlog;
    while (backlog !== null && backlog.length > 0) {
      const message = backlog.shift() as T;
      if (chan.free > 0) {
        chan.deliver(message);
      } else {
        this.#park(message);
        return;
      }
    }
    if (this.#outcome !== undefined) {
      this.#settle();
      return;
    }
    this.#state = READING;
    this.#call.resume();
  }

  #onEnd = (): void => {
    const state = this.#state;
    if (state === READING || state === PARKED || state === DISCARDING) this.#owner.readEnded();
  };

  #settle(): void {
    const outcome = this.#outcome;
    this.#state = DONE;
    this.#backlog = null;
    this.#detach();
    if (outcome === null || outcome === undefined) this.chan.dropSender();
    else {
      this.chan.fail(outcome);
      this.chan.dropSender();
    }
  }

  #detach(): void {
    this.#call.removeListener("data", this.#onData);
    this.#call.removeListener("end", this.#onEnd);
  }
}

/** Options of {@link receiveFrom}. */
export interface ReceiveOptions {
  /** How many messages the receiver buffers before the call stops being read (default 16). */
  capacity?: number;
}

/**
 * Turns the reads of a call into a {@link Receiver}.
 *
 * Flow control: messages are taken from the call only while the receiver has room; when it is full
 * the call is paused, so grpc-js stops asking HTTP/2 for more and the peer's writes wait on the
 * flow-control window. At most `capacity` messages wait in the receiver, plus grpc-js's own small
 * object-mode buffer (16 messages).
 *
 * The receiver ends when the peer half-closes (a client call: when the call ends with OK), and once
 * the messages read so far are received it rejects with a {@link GrpcError} when the call fails: on
 * a server call, `CANCELLED` for a client cancel (which grpc-js first reports like a half-close),
 * `DEADLINE_EXCEEDED`, or the status grpc-js sent when it refused the client's input. Closing the
 * receiver early stops reading the call (it does not cancel it).
 *
 * @param call a server call (duplex or client-streaming), a client call (duplex or
 *   server-streaming), or any object-mode `Readable`
 * @throws RangeError if `options.capacity` is not an integer from 1 up
 *
 * @example
 * ```ts
 * // inside a raw grpc-js bidi handler
 * const requests = receiveFrom(call, { capacity: 64 });
 * for await (const req of requests) handle(req);
 * ```
 */
export function receiveFrom<T>(call: ReadableCall<T>, options?: ReceiveOptions): Receiver<T> {
  const capacity = capacityOption(options?.capacity, "capacity");
  let pump: ReadPump<T> | undefined;
  let ended = false;
  let finishWhenEnded: ((outcome: Error | null) => void) | undefined;
  const owner: ReadOwner = {
    readEnded: () => {
      ended = true;
      finishWhenEnded?.(null);
    },
    consumerClosed: () => {},
    consumerAbandoned: () => {},
  };
  if (typeof (call as { cancel?: unknown }).cancel === "function") {
    // A client call: the receiver ends with the call's status, after its last message (grpc-js ends
    // the read side, 'end', on every status, so messages it already holds are read first).
    let outcome: ClientOutcome | undefined;
    const settle = (): void => {
      if (outcome !== undefined && ended) pump?.finish(outcome instanceof GrpcError ? outcome : null);
    };
    finishWhenEnded = settle;
    watchClientCall(call as unknown as ClientCallLike, (o) => {
      outcome = o;
      settle();
    });
  } else if ("cancelled" in call && typeof (call as { getDeadline?: unknown }).getDeadline === "function") {
    const end = watchServerCall(call as unknown as ServerCallLike, (reason) => pump?.finish(reason));
    owner.readEnded = () => end.confirmHalfClose((reason) => pump?.finish(reason));
  } else {
    finishWhenEnded = (outcome) => pump?.finish(outcome);
    call.on("error", (err: unknown) => pump?.finish(GrpcError.from(err)));
    call.on("close", () => pump?.finish(statusError(status.CANCELLED, "the stream closed before its end")));
  }
  pump = new ReadPump(call, capacity, owner);
  return pump.receiver();
}
