/**
 * HTTP/2 DATA -> `Receiver`: deframes each chunk and hands the messages straight to the receiver's
 * channel (no promise per message while it has room). When it is full, the stream is paused (HTTP/2
 * flow control then holds the peer) and the messages already cut from the current chunk wait in a
 * short backlog, which one parked send at a time feeds in.
 *
 * @internal
 */
import type { Http2Stream } from "node:http2";
import { ADMITTED, Chan, type ClosedBy, REFUSED, Receiver, readyVoid } from "../channel/index.js";
import { Code } from "../grpc/codes.js";
import { type GrpcError, messageOf, statusError } from "../grpc/grpc-error.js";
import { decompress, type Encoding } from "./compression.js";
import { FrameReader } from "./framing.js";

/** What a {@link StreamReader} asks and tells the owner of its call. */
export interface ReadOwner<T> {
  /** Which end reads: the refusal of a message over the limit says whose limit it was. */
  readonly side: "client" | "server";
  /** Decodes one received message (the method's deserializer; a throw refuses the message). */
  decode(bytes: Buffer): T;
  /** The consumer closed the receiver (or left `for await`) before the end. */
  consumerClosed(): void;
  /** A received message was refused (over the limit, bad flag, undecodable): the call must end. */
  readFailed(error: GrpcError): void;
  /** The backlog the owner asked about ({@link StreamReader.holdsBacklog}) is in the channel. */
  backlogIn?(): void;
}

/**
 * The reader's channel: it tells the reader when the consumer closes the receiver, until the call's
 * reading is over. The receiver's FinalizationRegistry holds its channel strongly for as long as the
 * receiver lives, and the reader holds the receiver: a channel that kept its reader after that would
 * keep the receiver from ever being collected, and with it the reader, the call and its stream
 * (about 6 KB per call). {@link StreamReader.finish} lets go.
 */
class ReaderChan<T> extends Chan<T> {
  reader: StreamReader<T> | undefined;

  constructor(bound: number, reader: StreamReader<T>) {
    // The ring grows from 4 slots to the capacity as messages wait in it: most streams hold few.
    super(bound, Math.min(bound, 4));
    this.reader = reader;
  }

  override closeReceiver(by?: ClosedBy): void {
    if (this.rxClosed) return;
    super.closeReceiver(by);
    this.reader?.receiverClosed();
  }
}

/**
 * Reads one call direction into a receiver. It sends into the channel as its one sender without a
 * `Sender` handle (a handle is for code that may drop it, and each is watched by a
 * FinalizationRegistry): the channel's count of senders starts at the reader's one.
 */
export class StreamReader<T> extends FrameReader {
  readonly rx: Receiver<T>;
  readonly #chan: ReaderChan<T>;
  readonly #owner: ReadOwner<T>;
  #stream: Http2Stream | undefined;
  #encoding: Encoding = "identity";
  #backlog: T[] | null = null;
  /** How the channel ends once the backlog is in: `null` closes it; undefined: not yet known. */
  #outcome: GrpcError | null | undefined;
  /** No more DATA is read: the call finished, the consumer closed, or a message was refused. */
  #stopped = false;
  /** {@link StreamReader.finish} was called. */
  #finished = false;
  /** The owner waits to hear when the backlog is in the channel ({@link StreamReader.holdsBacklog}). */
  #tellBacklogIn = false;
  /** Messages read (the call's metrics and trace). */
  messages = 0;
  /** Their serialized bytes, after decompression. */
  bytes = 0;

  constructor(capacity: number, max: number, owner: ReadOwner<T>) {
    super(max);
    const chan = new ReaderChan<T>(capacity, this);
    this.#chan = chan;
    this.rx = new Receiver(chan);
    this.#owner = owner;
  }

  /** The stream read from (paused while the receiver is full) and its `grpc-encoding`. */
  attach(stream: Http2Stream, encoding: Encoding): void {
    this.#stream = stream;
    this.#encoding = encoding;
  }

  protected override get limitName(): string {
    return this.#owner.side === "server" ? "the server's receive limit" : "this client's receive limit";
  }

  /** Whether the DATA read so far stops in the middle of a message (the peer's end would cut it). */
  override get midMessage(): boolean {
    return !this.#stopped && super.midMessage;
  }

  /** A DATA chunk. */
  chunk(data: Buffer): void {
    if (this.#stopped) return;
    const error = this.push(data);
    if (error !== undefined) this.#refuse(error);
  }

  /** The peer's messages ended cleanly (`null`) or the call failed: the receiver ends after the backlog. */
  finish(outcome: GrpcError | null): void {
    if (this.#finished) return;
    if (outcome === null && this.midMessage && !this.#stopped) {
      outcome = statusError(Code.INTERNAL, "the stream ended in the middle of a message");
    }
    this.#finished = true;
    this.#stopped = true;
    this.#chan.reader = undefined; // a close from now on needs no telling: see ReaderChan
    this.#outcome = outcome;
    if (outcome !== null) this.#backlog = null; // a failed call: what was not received is lost with it
    if (this.#backlog === null) this.#end();
  }

  /**
   * Whether messages read wait in the backlog for room in the channel; if so, the owner's
   * {@link ReadOwner.backlogIn} is called once they are all in.
   */
  holdsBacklog(): boolean {
    if (this.#backlog === null) return false;
    this.#tellBacklogIn = true;
    return true;
  }

  /** The consumer closed the receiver. */
  receiverClosed(): void {
    this.#backlog = null;
    if (this.#finished || this.#stopped) return; // its own end (abort closes it too), or refused already
    this.#stopped = true;
    this.#owner.consumerClosed();
  }

  #end(): void {
    if (this.#chan.senders === 0) return; // ended already (as a closed handle's close is a no-op)
    const outcome = this.#outcome;
    if (outcome === null || outcome === undefined) {
      this.#chan.dropSender();
      return;
    }
    // The channel keeps its failure for as long as the receiver lives, and the receiver's
    // FinalizationRegistry holds the channel: an error whose stack is not yet formatted holds its
    // call sites, whose receivers (this call's objects) hold the receiver back in turn, so the call
    // could never be collected (an rx nobody reads after a cancel or a deadline). Formatting the stack
    // now lets the call sites go.
    void outcome.stack;
    this.#chan.fail(outcome);
    this.#chan.dropSender();
  }

  #refuse(error: GrpcError): void {
    this.#stopped = true;
    this.#owner.readFailed(error);
  }

  protected message(payload: Buffer, compressed: boolean): void {
    if (this.#stopped) return;
    let bytes = payload;
    if (compressed) {
      const out = decompress(payload, this.#encoding, this.maxMessage);
      if (!Buffer.isBuffer(out)) {
        this.#refuse(out);
        return;
      }
      bytes = out;
    }
    let value: T;
    try {
      value = this.#owner.decode(bytes);
      // A value no channel carries (a decoder that returned undefined) is a message refused, not a
      // throw out of the stream's 'data' listener, which nobody catches.
      const unfit = this.#chan.unfit(value);
      if (unfit !== undefined) throw unfit;
    } catch (error) {
      this.#refuse(
        statusError(Code.INTERNAL, `a message could not be deserialized: ${messageOf(error)}`, error),
      );
      return;
    }
    this.messages++;
    this.bytes += bytes.length;
    if (this.#backlog !== null) {
      this.#backlog.push(value);
      return;
    }
    const chan = this.#chan;
    if (chan.free > 0) {
      chan.offer(value);
      return;
    }
    if (chan.rxClosed) return; // the consumer closed: nobody reads this
    this.#backlog = [value];
    this.#stream?.pause();
    void this.#drainBacklog();
  }

  /** `Sender.send` of `value`, as the channel's one sender (`message` refused what no channel carries). */
  #send(value: T): Promise<void> {
    const chan = this.#chan;
    const admission = chan.offer(value);
    if (admission === ADMITTED) return readyVoid();
    if (admission === REFUSED) return chan.refuse(value);
    return chan.parkSend(value, undefined);
  }

  async #drainBacklog(): Promise<void> {
    for (;;) {
      const backlog = this.#backlog;
      if (backlog === null) return;
      const next = backlog[0];
      if (next === undefined) break;
      try {
        await this.#send(next);
      } catch {
        return; // the receiver closed, or the call failed: that handled the rest
      }
      backlog.shift();
    }
    this.#backlog = null;
    if (this.#finished) this.#end();
    else {
      this.#stream?.resume();
      if (this.#tellBacklogIn) {
        this.#tellBacklogIn = false;
        this.#owner.backlogIn?.();
      }
    }
  }
}
