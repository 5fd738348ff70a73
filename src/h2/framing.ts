/**
 * gRPC's length-prefixed messages: a 1-byte compressed flag, a 4-byte big-endian length, the bytes.
 * {@link frameAll} writes a burst of messages as ONE buffer (one `write`, one DATA frame run);
 * {@link Deframer} reads them back from HTTP/2 DATA chunks, whatever the chunk boundaries.
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

/**
 * Cuts a stream of DATA chunks into messages: a message split across chunks is joined, several packed
 * in one chunk are each handed on (as views into the chunk, without copying). A length over
 * `maxMessage` is refused before any of its bytes are buffered.
 */
export class Deframer {
  readonly #max: number;
  readonly #sink: MessageSink;
  /** The prefix read so far (when it is split across chunks). */
  #head = Buffer.alloc(PREFIX);
  #headLength = 0;
  /** The message being joined: its flag, its length, the parts so far. */
  #compressed = false;
  #need = -1;
  #parts: Buffer[] = [];
  #have = 0;

  /**
   * @param maxMessage the largest message length accepted
   * @param sink receives each message, in order
   */
  constructor(maxMessage: number, sink: MessageSink) {
    this.#max = maxMessage;
    this.#sink = sink;
  }

  /** Whether a message is partly read (the stream must not end here). */
  get midMessage(): boolean {
    return this.#headLength > 0 || this.#need >= 0;
  }

  /**
   * Reads `chunk`, handing every whole message to the sink. Returns the error that ends the call
   * (`RESOURCE_EXHAUSTED` for a message over the limit, `INTERNAL` for a bad flag), after which the
   * deframer must not be used again; a throwing sink stops it the same way.
   */
  push(chunk: Buffer): GrpcError | undefined {
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.#need < 0) {
        // A prefix: whole in this chunk (the common case), or joined from pieces.
        let flag: number;
        let length: number;
        if (this.#headLength === 0 && end - at >= PREFIX) {
          flag = chunk[at] as number;
          length = chunk.readUInt32BE(at + 1);
          at += PREFIX;
        } else {
          const take = Math.min(PREFIX - this.#headLength, end - at);
          chunk.copy(this.#head, this.#headLength, at, at + take);
          this.#headLength += take;
          at += take;
          if (this.#headLength < PREFIX) return undefined;
          this.#headLength = 0;
          flag = this.#head[0] as number;
          length = this.#head.readUInt32BE(1);
        }
        if (flag > 1)
          return statusError(Code.INTERNAL, `a message's compressed flag was ${flag}, not 0 or 1`);
        if (length > this.#max) {
          return statusError(
            Code.RESOURCE_EXHAUSTED,
            `received a message of ${length} bytes, over the limit of ${this.#max}`,
          );
        }
        this.#compressed = flag === 1;
        if (end - at >= length) {
          // The whole message is here: a view, no copy.
          const payload = chunk.subarray(at, at + length);
          at += length;
          this.#sink(payload, this.#compressed);
          continue;
        }
        this.#need = length;
        this.#parts = [];
        this.#have = 0;
      }
      const take = Math.min(this.#need - this.#have, end - at);
      this.#parts.push(chunk.subarray(at, at + take));
      this.#have += take;
      at += take;
      if (this.#have === this.#need) {
        const payload = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts);
        this.#need = -1;
        this.#parts = [];
        this.#have = 0;
        this.#sink(payload, this.#compressed);
      }
    }
    return undefined;
  }
}
