/**
 * The shapes the gRPC cases share: a running server, what each implementation's clients do, and the
 * bench service's payloads and upload count. A leaf (it imports only generated message types), so
 * that the servers, the clients and the bare-http2 ceiling, which implements both, import it and not
 * one another.
 */
import type { Chunk, FloodRequest, UploadSummary } from "../../examples/generated/bench.js";
import type { MessageRequest, MessageResponse } from "../../examples/generated/messages.js";

/** A running server. */
export interface Running {
  port: number;
  stop(): Promise<void>;
}

/**
 * One bidi stream: sends `n` requests (`make(i)`), concurrently hands each response to `see` with its
 * index, and resolves once the call ended OK. What `see` throws fails the stream.
 */
export type BidiRun<Req, Res> = (
  n: number,
  make: (i: number) => Req,
  see: (res: Res, i: number) => void,
) => Promise<void>;

/** One implementation's clients of both services, and how it runs each shape on them. */
export interface Clients {
  /** MessageService.StreamMessages (bidi). */
  messages: BidiRun<MessageRequest, MessageResponse>;
  /** BenchService.Echo (bidi). */
  chunks: BidiRun<Chunk, Chunk>;
  /** BenchService.Flood (server streaming): each chunk to `see`, with its index. */
  flood(request: FloodRequest, see: (chunk: Chunk, i: number) => void): Promise<void>;
  /** BenchService.Upload (client streaming): sends `n` chunks (`make(i)`), returns the server's summary. */
  upload(n: number, make: (i: number) => Chunk): Promise<UploadSummary>;
  close(): void;
}

/** A Flood's chunks share one payload of the size asked for. */
export const payloadOf = (size: number): Buffer => Buffer.alloc(size, 0x61);

/** What an Upload's server saw: every chunk, how many came in order from 0, and their bytes. */
export class UploadCount {
  received = 0;
  inOrder = 0;
  bytes = 0;

  add(chunk: Chunk): void {
    this.received++;
    if (chunk.seq === this.inOrder) this.inOrder++;
    this.bytes += chunk.payload.length;
  }

  summary(): UploadSummary {
    return { received: this.received, inOrder: this.inOrder, bytes: this.bytes };
  }
}
