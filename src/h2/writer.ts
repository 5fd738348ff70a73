/**
 * Sends -> HTTP/2 DATA: the writer behind an h2 handler's `responses` and an h2 client's `tx`.
 *
 * A value sent while there is room is serialized inside `send` and queued; the queue is written at the
 * end of the current microtask as ONE buffer of several gRPC frames (one `write` per burst, however
 * many sends made it). While HTTP/2 holds back (`write` returned false, the peer's window is shut) or
 * `capacity` messages are queued, senders park in the channel's FIFO line; 'drain' grants them all at
 * once, and their messages leave in the next burst.
 *
 * @internal
 */
import type { Http2Stream } from "node:http2";
import { type ClosedBy, Sender, SinkChan } from "../channel/index.js";
import { Code } from "../grpc/codes.js";
import { messageOf, statusError } from "../grpc/grpc-error.js";
import { OwnedSink, type WriteOwner } from "../grpc/owned-sink.js";
import { compress, type Encoding } from "./compression.js";
import { frameAll } from "./framing.js";

/**
 * What a {@link BurstWriter} tells the owner of its call: a `WriteOwner`'s news (a message that
 * cannot be serialized or is over the limit is a `writesAborted`), and when the first DATA goes.
 */
export interface BurstOwner extends WriteOwner {
  /** Called once, before the first DATA is written (the server sends its response headers then). */
  beforeFirstWrite(): void;
}

/** The writer of one call direction. */
export class BurstWriter<T> extends OwnedSink<T, BurstOwner> {
  readonly chan: SinkChan<T>;
  readonly #capacity: number;
  readonly #serialize: (value: T) => Buffer;
  readonly #maxSend: number;
  #encoding: Encoding = "identity";
  #stream: Http2Stream | undefined;
  #queue: Buffer[] = [];
  /** `write` returned false: no room until 'drain'. */
  #blocked = false;
  #scheduled = false;
  #wroteAny = false;
  /** Messages queued to be written (the call's metrics and trace). */
  messages = 0;
  /** Their serialized bytes, before compression. */
  bytes = 0;

  constructor(capacity: number, serialize: (value: T) => Buffer, maxSend: number, owner: BurstOwner) {
    super(owner);
    this.chan = new SinkChan(capacity, this);
    this.#capacity = capacity;
    this.#serialize = serialize;
    this.#maxSend = maxSend;
  }

  /** A sender handle (the writer keeps only the channel, so handles can be collected). */
  sender(): Sender<T> {
    return new Sender(this.chan);
  }

  /** The stream to write to (a client's is attached once the session is up), and its encoding. */
  attach(stream: Http2Stream, encoding: Encoding): void {
    this.#stream = stream;
    this.#encoding = encoding;
    if (this.#queue.length > 0) this.flush();
  }

  get room(): number {
    return this.#blocked ? 0 : this.#capacity - this.#queue.length;
  }

  take(value: T): void {
    if (this.chan.rxClosed) {
      // Only a permit reserved before the call ended gets here: its value cannot reach anybody.
      this.owner.unobserved(this.chan.refusal(value));
      return;
    }
    let bytes: Buffer;
    try {
      bytes = this.#serialize(value);
    } catch (error) {
      this.owner.writesAborted(
        new TypeError(`a message could not be serialized: ${messageOf(error)}`, { cause: error }),
      );
      return;
    }
    if (bytes.length > this.#maxSend) {
      this.owner.writesAborted(
        statusError(
          Code.RESOURCE_EXHAUSTED,
          `a message of ${bytes.length} bytes is over the send limit of ${this.#maxSend}`,
        ),
      );
      return;
    }
    this.messages++;
    this.bytes += bytes.length;
    this.#queue.push(bytes);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushTask);
    }
  }

  /** Whether anything was written (or is queued to be): the server's headers are then out. */
  get started(): boolean {
    return this.#wroteAny;
  }

  /** Writes every queued message now, as one buffer (a no-op until a stream is attached). */
  flush(): void {
    const stream = this.#stream;
    if (stream === undefined || this.#queue.length === 0 || this.chan.rxClosed) return;
    if (!this.#wroteAny) {
      this.#wroteAny = true;
      this.owner.beforeFirstWrite();
    }
    const gzip = this.#encoding === "gzip";
    const queue = this.#queue;
    this.#queue = [];
    const payloads = gzip ? queue.map((b) => compress(b, "gzip")) : queue;
    // A stream reset under the call: its end is on its way through 'close', and writing would throw.
    if (stream.destroyed || stream.closed || stream.writableEnded) return;
    if (!stream.write(frameAll(payloads, gzip)) && !this.#blocked) {
      this.#blocked = true;
      stream.once("drain", this.#onDrain);
    }
    if (!this.#blocked && this.chan.sendWaiters.head !== null) this.chan.grant();
  }

  /** The call ended: nothing more is written; parked senders get their values back with `by`. */
  callEnded(by: ClosedBy): void {
    this.#queue = [];
    this.chan.closeReceiver(by);
  }

  #flushTask = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  #onDrain = (): void => {
    this.#blocked = false;
    if (this.chan.sendWaiters.head !== null) this.chan.grant();
  };
}
