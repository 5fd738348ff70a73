/**
 * gRPC's length-prefixed messages: a 1-byte compressed flag, a 4-byte big-endian length, the bytes.
 * {@link frameAll} writes a burst of messages as ONE buffer (one `write`, one DATA frame run);
 * {@link FrameReader} (and {@link Deframer}, its form with a callback) reads them back from HTTP/2
 * DATA chunks, whatever the chunk boundaries.
 *
 * @internal
 */
import { Code } from "../grpc/codes.js";
import { type GrpcError, statusError } from "../grpc/grpc-error.js";

/** The prefix before each message: flag (1) and length (4). */
export const PREFIX = 5;

/** The default largest message received or sent: 4 MiB, as grpc-js and the C core. */
export const DEFAULT_MAX_MESSAGE = 4 * 1024 * 1024;

/**
 * The messages `payloads` framed into one buffer, each with its prefix; `compressed` sets the flag
 * of all of them (they were compressed one by one with the call's `grpc-encoding`).
 */
export function frameAll(payloads: readonly Buffer[], compressed: boolean): Buffer {
  let total = 0;
  for (const p of payloads) total += PREFIX + p.length;
  const out = Buffer.allocUnsafe(total);
  const flag = compressed ? 1 : 0;
  let at = 0;
  for (const p of payloads) {
    out[at] = flag;
    out.writeUInt32BE(p.length, at + 1);
    p.copy(out, at + PREFIX);
    at += PREFIX + p.length;
  }
  return out;
}

/** Receives each whole message; `compressed` is the prefix's flag. */
export type MessageSink = (payload: Buffer, compressed: boolean) => void;

/** A message cut by a chunk's end: what of it was read so far. */
class Split {
  /** The prefix read so far, while it is itself split (`need` is then -1). */
  head: Buffer | undefined;
  headLength = 0;
  compressed = false;
  /** The message's length, once its prefix is whole. */
  need = -1;
  parts: Buffer[] = [];
  have = 0;
}

/**
 * Cuts a stream of DATA chunks into messages, handed to {@link FrameReader.message}: a message split
 * across chunks is joined, several packed in one chunk are each handed on (as views into the chunk,
 * without copying). A length over `maxMessage` is refused before any of its bytes are buffered. It
 * holds nothing between messages: what a split message needs is made when one is split.
 */
export abstract class FrameReader {
  /** The largest message length accepted. */
  protected readonly maxMessage: number;
  /** The message being joined, if a chunk ended inside one. */
  #split: Split | undefined;

  /** @param maxMessage the largest message length accepted */
  constructor(maxMessage: number) {
    this.maxMessage = maxMessage;
  }

  /** Whose limit a refusal names ("the limit": whoever reads does not say). */
  protected get limitName(): string {
    return "the limit";
  }

  /** Receives each whole message, in order; `compressed` is its prefix's flag. */
  protected abstract message(payload: Buffer, compressed: boolean): void;

  /** Whether a message is partly read (the stream must not end here). */
  get midMessage(): boolean {
    return this.#split !== undefined;
  }

  /**
   * Reads `chunk`, handing every whole message on. Returns the error that ends the call
   * (`RESOURCE_EXHAUSTED` for a message over the limit, `INTERNAL` for a bad flag), after which the
   * reader must not be used again; a throwing {@link FrameReader.message} stops it the same way.
   */
  push(chunk: Buffer): GrpcError | undefined {
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      let split = this.#split;
      if (split === undefined) {
        if (end - at < PREFIX) {
          // The prefix itself is cut: it is joined from pieces below.
          split = this.#split = new Split();
          split.head = Buffer.alloc(PREFIX);
        } else {
          // A prefix whole in this chunk (the common case).
          const flag = chunk[at] as number;
          const length = chunk.readUInt32BE(at + 1);
          at += PREFIX;
          const error = this.#refusal(flag, length);
          if (error !== undefined) return error;
          if (end - at >= length) {
            // The whole message is here: a view, no copy.
            const payload = chunk.subarray(at, at + length);
            at += length;
            this.message(payload, flag === 1);
            continue;
          }
          split = this.#split = new Split();
          split.compressed = flag === 1;
          split.need = length;
        }
      }
      if (split.need < 0) {
        const head = split.head as Buffer;
        const take = Math.min(PREFIX - split.headLength, end - at);
        chunk.copy(head, split.headLength, at, at + take);
        split.headLength += take;
        at += take;
        if (split.headLength < PREFIX) return undefined;
        const flag = head[0] as number;
        const length = head.readUInt32BE(1);
        const error = this.#refusal(flag, length);
        if (error !== undefined) return error;
        if (end - at >= length) {
          const payload = chunk.subarray(at, at + length);
          at += length;
          this.#split = undefined;
          this.message(payload, flag === 1);
          continue;
        }
        split.compressed = flag === 1;
        split.need = length;
      }
      const take = Math.min(split.need - split.have, end - at);
      split.parts.push(chunk.subarray(at, at + take));
      split.have += take;
      at += take;
      if (split.have === split.need) {
        const payload = split.parts.length === 1 ? (split.parts[0] as Buffer) : Buffer.concat(split.parts);
        this.#split = undefined;
        this.message(payload, split.compressed);
      }
    }
    return undefined;
  }

  /** Why a prefix of `flag` and `length` ends the call, if it does. */
  #refusal(flag: number, length: number): GrpcError | undefined {
    if (flag > 1) return statusError(Code.INTERNAL, `a message's compressed flag was ${flag}, not 0 or 1`);
    if (length > this.maxMessage) {
      return statusError(
        Code.RESOURCE_EXHAUSTED,
        `received a message of ${length} bytes, over ${this.limitName} of ${this.maxMessage}`,
      );
    }
    return undefined;
  }
}

/** A {@link FrameReader} that hands each message to a function. */
export class Deframer extends FrameReader {
  readonly #sink: MessageSink;

  /**
   * @param maxMessage the largest message length accepted
   * @param sink receives each message, in order
   */
  constructor(maxMessage: number, sink: MessageSink) {
    super(maxMessage);
    this.#sink = sink;
  }

  protected message(payload: Buffer, compressed: boolean): void {
    this.#sink(payload, compressed);
  }
}
