/**
 * Sends -> HTTP/2 DATA: the writer behind an h2 handler's `responses` and an h2 client's `tx`.
 *
 * A value sent while there is room is serialized inside `send` and queued; the queue is written at the
 * end of the current microtask as ONE buffer of several gRPC frames (one `write` per burst, however
 * many sends made it: each message is copied in, so a sender may reuse what it sent once `send`
 * resolves), handed to the stream in slices of at most {@link WRITE_SLICE} bytes until
 * `write` returns false. While HTTP/2 holds back (`write` returned false, the peer's window is shut) or
 * `capacity` messages are queued, senders park in the channel's FIFO line; 'drain' writes the rest of
 * the burst, then grants them all at once, and their messages leave in the next burst.
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
 * The most bytes one `write` hands the stream. Node keeps what a write holds in the session's memory
 * until nghttp2 has sent it, and past `maxSessionMemory` (10 MB by default) resets the session's
 * streams with ENHANCE_YOUR_CALM: a burst of 16 messages of 1 MiB written as one buffer did. In slices,
 * waiting for 'drain' whenever `write` returns false, a stream holds about its high-water mark there.
 * 16 KiB is also HTTP/2's default frame size: a small burst is still one write.
 */
const WRITE_SLICE = 16 * 1024;

/**
 * What a {@link BurstWriter} tells the owner of its call: a `WriteOwner`'s news, a message it
 * refused, and when the first DATA goes.
 */
export interface BurstOwner<T> extends WriteOwner {
  /** A message that cannot be serialized, or is over the send limit: the call must end. */
  writesRefused(reason: unknown): void;
  /** Which end writes: a message over the send limit says whose limit it was. */
  readonly side: "client" | "server";
  /** Encodes one message (the method's serializer; a throw aborts the writes). */
  encode(value: T): Buffer;
  /** Called once, before the first DATA is written (the server sends its response headers then). */
  beforeFirstWrite(): void;
}

/** What a value is, for an error message, without calling anything of its own (`toString` may throw). */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return "an object"; // a Proxy whose Symbol.toStringTag getter throws
  }
}

/**
 * A message its serializer refused: a `TypeError` (the server's handler error, to `onError`), which
 * the client tells apart from an aborted `tx` (INTERNAL, as grpc-js's client, not CANCELLED).
 */
export class UnserializableMessage extends TypeError {}

/**
 * Runs the flush a writer scheduled: one function for every writer, which it gets as the value of a
 * resolved promise (a reaction runs at the end of the microtask, as `queueMicrotask`'s callback
 * would), so that no writer keeps a closure of its own for it.
 */
function flushScheduled(writer: { scheduledFlush(): void }): void {
  writer.scheduledFlush();
}

/** The writer of one call direction. */
export class BurstWriter<T> extends OwnedSink<T, BurstOwner<T>> {
  readonly chan: SinkChan<T>;
  readonly #capacity: number;
  readonly #maxSend: number;
  #encoding: Encoding = "identity";
  #stream: Http2Stream | undefined;
  /** The messages of the next burst (made by the first of them). */
  #queue: Buffer[] | undefined;
  /** `write` returned false: no room until 'drain'. */
  #blocked = false;
  /** What is not yet handed to the stream, in order: the rest of a burst, and bursts made while blocked. */
  #rest: Buffer[] | undefined;
  /** Called once the rest is written: the end of the stream waits for it (see {@link endAfterWrites}). */
  #then: (() => void) | undefined;
  #scheduled = false;
  /** The 'drain' listener, made the first time `write` returns false. */
  #onDrain: (() => void) | undefined;
  #wroteAny = false;
  /** Messages queued to be written (the call's metrics and trace). */
  messages = 0;
  /** Their serialized bytes, before compression. */
  bytes = 0;

  constructor(capacity: number, maxSend: number, owner: BurstOwner<T>) {
    super(owner);
    this.chan = new SinkChan(capacity, this);
    this.#capacity = capacity;
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
    if (this.#queue !== undefined) this.flush();
  }

  get room(): number {
    return this.#blocked ? 0 : this.#capacity - (this.#queue?.length ?? 0);
  }

  take(value: T): void {
    if (this.chan.rxClosed) {
      // Only a permit reserved before the call ended gets here: its value cannot reach anybody.
      this.owner.unobserved(this.chan.refusal(value));
      return;
    }
    let encoded: unknown;
    try {
      encoded = this.owner.encode(value);
    } catch (error) {
      this.owner.writesRefused(
        new UnserializableMessage(`a message could not be serialized: ${messageOf(error)}`, { cause: error }),
      );
      return;
    }
    // A serializer typed to return a Buffer may return a Uint8Array (@bufbuild/protobuf's toBinary
    // does) or, from plain JavaScript, anything at all.
    if (!(encoded instanceof Uint8Array)) {
      this.owner.writesRefused(
        new UnserializableMessage(
          `a message could not be serialized: its serializer returned ${kindOf(encoded)}, not a Buffer or Uint8Array`,
        ),
      );
      return;
    }
    let bytes = Buffer.isBuffer(encoded)
      ? encoded
      : Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    if (bytes.length > this.#maxSend) {
      this.owner.writesRefused(
        statusError(
          Code.RESOURCE_EXHAUSTED,
          `a message of ${bytes.length} bytes is over ${this.owner.side === "server" ? "the server's" : "this client's"} send limit of ${this.#maxSend}`,
        ),
      );
      return;
    }
    // Queued until the stream is attached (a client's call before its connection is up), the bytes
    // are copied now: a serializer may return a buffer the sender reuses once `send` resolves (its
    // value, or a buffer the message holds). Otherwise the flush at the end of this microtask copies
    // them into the burst before the sender's `await` resumes.
    if (this.#stream === undefined) bytes = Buffer.from(bytes);
    this.messages++;
    this.bytes += bytes.length;
    if (this.#queue === undefined) this.#queue = [bytes];
    else this.#queue.push(bytes);
    if (!this.#scheduled) {
      this.#scheduled = true;
      void Promise.resolve(this).then(flushScheduled);
    }
  }

  /** Whether anything was written (or is queued to be): the server's headers are then out. */
  get started(): boolean {
    return this.#wroteAny;
  }

  /** Writes every queued message now, as one buffer (a no-op until a stream is attached). */
  flush(): void {
    const stream = this.#stream;
    const queue = this.#queue;
    if (stream === undefined || queue === undefined || this.chan.rxClosed) return;
    if (!this.#wroteAny) {
      this.#wroteAny = true;
      this.owner.beforeFirstWrite();
    }
    this.#queue = undefined;
    // A stream reset under the call: its end is on its way through 'close', and writing would throw.
    if (stream.destroyed || stream.closed || stream.writableEnded) return;
    const gzip = this.#encoding === "gzip";
    const burst = frameAll(gzip ? queue.map((b) => compress(b, "gzip")) : queue, gzip);
    if (this.#blocked) {
      // Behind what 'drain' still has to write (a permit reserved before the stream filled, or the
      // server's last responses before its status): in order, after it.
      if (this.#rest === undefined) this.#rest = [burst];
      else this.#rest.push(burst);
      return;
    }
    this.#write(stream, [burst]);
    if (!this.#blocked && this.chan.sendWaiters.head !== null) this.chan.grant();
  }

  /** Whether bytes of a burst wait for 'drain' (and with them, maybe, the stream's end). */
  get pending(): boolean {
    return this.#rest !== undefined;
  }

  /**
   * Runs `then` (which ends the stream) once every burst handed over so far is written whole: a
   * message cut at a slice must not be followed by the trailers. At once when nothing is left.
   */
  endAfterWrites(then: () => void): void {
    if (this.#rest === undefined) then();
    else this.#then = then;
  }

  /**
   * Hands `pieces` to the stream, each a slice at a time, until `write` returns false; keeps the rest
   * (`pieces` itself, from where it stopped).
   */
  #write(stream: Http2Stream, pieces: Buffer[]): void {
    for (let i = 0; i < pieces.length; i++) {
      const bytes = pieces[i] as Buffer;
      let at = 0;
      while (at < bytes.length) {
        const end = Math.min(bytes.length, at + WRITE_SLICE);
        const more = stream.write(at === 0 && end === bytes.length ? bytes : bytes.subarray(at, end));
        at = end;
        if (!more) {
          if (at < bytes.length) pieces[i] = bytes.subarray(at);
          else i++;
          this.#rest = i < pieces.length ? (i === 0 ? pieces : pieces.slice(i)) : undefined;
          if (!this.#blocked) {
            this.#blocked = true;
            this.#onDrain ??= () => this.#drained();
            stream.once("drain", this.#onDrain);
          }
          return;
        }
      }
    }
    this.#rest = undefined;
  }

  /** The call ended: nothing more is written; parked senders get their values back with `by`. */
  callEnded(by: ClosedBy): void {
    this.#queue = undefined;
    this.#rest = undefined;
    this.#then = undefined;
    this.chan.closeReceiver(by);
  }

  /** The flush `take` scheduled for the end of the microtask. */
  scheduledFlush(): void {
    this.#scheduled = false;
    this.flush();
  }

  #drained(): void {
    this.#blocked = false;
    const rest = this.#rest;
    const stream = this.#stream;
    if (rest !== undefined && stream !== undefined) {
      // A stream reset meanwhile: its end is on its way through 'close'.
      if (stream.destroyed || stream.closed || stream.writableEnded) return;
      this.#write(stream, rest);
      if (this.#blocked) return;
    }
    const then = this.#then;
    this.#then = undefined;
    then?.();
    if (this.chan.sendWaiters.head !== null) this.chan.grant();
  }
}
