/**
 * The client side of the gRPC cases: how each implementation writes and reads one stream, with
 * correct backpressure in every one (grpc-mpsc's `send` waits; raw grpc-js awaits 'drain' when
 * `write()` says so; nice-grpc pulls from an async generator). Every client is created with the same
 * channel options (`streamingClientOptions`), so the comparison is of the stream handling, not of
 * grpc-js's retry buffer.
 */
import { once } from "node:events";
import {
  type CallOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  credentials,
  type Metadata,
} from "@grpc/grpc-js";
import type { Sender } from "grpc-mpsc";
import { bidiCall, clientStreamCall, serverStreamCall, streamingClientOptions } from "grpc-mpsc/grpc";
import { connect as connectH2, type H2Client } from "grpc-mpsc/h2";
import { createChannel, createClient } from "nice-grpc";
import {
  BenchServiceClient,
  BenchServiceService,
  type Chunk,
  type UploadSummary,
} from "../../examples/generated/bench.js";
import { MessageServiceClient, MessageServiceService } from "../../examples/generated/messages.js";
import { address } from "./grpc-servers.js";
import type { BidiRun, Clients } from "./grpc-types.js";
import { h2Clients } from "./h2-ceiling.js";
import type { EchoImpl } from "./impls.js";

/** grpc-mpsc/h2: the same producers and consumers as grpc-mpsc's, on the library's own transport. */
function ownTransport(port: number): Clients {
  const client: H2Client = connectH2(address(port));
  const run =
    <Req, Res>(
      open: () => { tx: Sender<Req>; rx: AsyncIterable<Res>; status: Promise<unknown> },
    ): BidiRun<Req, Res> =>
    async (n, make, see) => {
      const { tx, rx, status } = open();
      const producer = sendAll(tx, n, make);
      let i = 0;
      for await (const res of rx) see(res, i++);
      await producer;
      await status;
    };
  return {
    messages: run(() => client.bidiCall(MessageServiceService.streamMessages)),
    chunks: run(() => client.bidiCall(BenchServiceService.echo)),
    flood: async (request, see) => {
      const { rx, status } = client.serverStreamCall(BenchServiceService.flood, request);
      await readEach(rx, see);
      await status;
    },
    upload: async (n, make) => {
      const { tx, response } = client.clientStreamCall(BenchServiceService.upload);
      await sendAll(tx, n, make);
      return response;
    },
    close: () => client.close(),
  };
}

/** grpc-mpsc: sends `n` messages, each `send` awaited, then closes `tx` (half-closes the call). */
async function sendAll<Req>(tx: Sender<Req>, n: number, make: (i: number) => Req): Promise<void> {
  for (let i = 0; i < n; i++) await tx.send(make(i));
  tx.close();
}

/** grpc-mpsc: `bidiCall`, a producer awaiting `tx.send`, the consumer a `for await` over `rx`. */
function oursBidi<Req, Res>(
  open: (md: Metadata, o: Partial<CallOptions>) => ClientDuplexStream<Req, Res>,
): BidiRun<Req, Res> {
  return async (n, make, see) => {
    const { tx, rx, status } = bidiCall(open);
    const producer = sendAll(tx, n, make);
    let i = 0;
    for await (const res of rx) see(res, i++);
    await producer;
    await status;
  };
}

/**
 * Raw grpc-js: writes `n` messages, waiting for 'drain' whenever `write()` returns false, then
 * half-closes. Leaves early with `ended`'s error if the call fails meanwhile.
 */
async function writeAll<Req>(
  call: ClientWritableStream<Req> | ClientDuplexStream<Req, unknown>,
  n: number,
  make: (i: number) => Req,
  ended: Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (!call.write(make(i))) await Promise.race([once(call, "drain"), ended]);
  }
  call.end();
}

/**
 * Hands a raw grpc-js call's messages to `see` (with their index) until the call ends: resolves on an
 * OK status, rejects with the call's error, or with what `see` threw (after cancelling the call).
 */
export function readAll<Res>(
  call: ClientReadableStream<Res> | ClientDuplexStream<unknown, Res>,
  see: (res: Res, i: number) => void,
): Promise<void> {
  const ended = new Promise<void>((resolve, reject) => {
    let failed: { error: unknown } | undefined;
    let i = 0;
    call.on("data", (res: Res) => {
      if (failed) return;
      try {
        see(res, i++);
      } catch (error) {
        failed = { error };
        call.cancel();
      }
    });
    call.on("error", (error) => reject(failed ? failed.error : error));
    call.on("status", ({ code }) => {
      if (code === 0) {
        if (failed) reject(failed.error);
        else resolve();
      }
    });
  });
  // Awaited by the caller, which may leave first (a write loop that failed).
  ended.catch(() => {});
  return ended;
}

/** Raw grpc-js: a write loop honouring 'drain', responses on 'data'. */
function rawBidi<Req, Res>(open: () => ClientDuplexStream<Req, Res>): BidiRun<Req, Res> {
  return async (n, make, see) => {
    const call = open();
    const ended = readAll(call, see);
    await writeAll(call, n, make, ended);
    await ended;
  };
}

/** nice-grpc's requests: an async generator of `n` messages. */
async function* generate<Req>(n: number, make: (i: number) => Req): AsyncGenerator<Req> {
  for (let i = 0; i < n; i++) yield make(i);
}

/** Hands each message of an async iterable to `see`, with its index. */
async function readEach<Res>(
  responses: AsyncIterable<Res>,
  see: (res: Res, i: number) => void,
): Promise<void> {
  let i = 0;
  for await (const res of responses) see(res, i++);
}

/** nice-grpc: requests from an async generator, responses from the call's async iterable. */
function niceBidi<Req, Res>(call: (requests: AsyncIterable<Req>) => AsyncIterable<Res>): BidiRun<Req, Res> {
  return (n, make, see) => readEach(call(generate(n, make)), see);
}

/**
 * Opens clients of `impl` (any implementation, or the bare-http2 ceiling) to the server on `port`
 * (the connection is made by the first call).
 */
export function connect(impl: EchoImpl, port: number): Clients {
  if (impl === "bare http2") return h2Clients(port);
  if (impl === "h2") return ownTransport(port);
  const target = address(port);
  if (impl === "nice-grpc") {
    const ch = createChannel(target, credentials.createInsecure(), streamingClientOptions);
    const messages = createClient(MessageServiceService, ch);
    const bench = createClient(BenchServiceService, ch);
    return {
      messages: niceBidi((requests) => messages.streamMessages(requests)),
      chunks: niceBidi((requests) => bench.echo(requests)),
      flood: (request, see) => readEach(bench.flood(request), see),
      upload: (n, make) => bench.upload(generate(n, make)),
      close: () => ch.close(),
    };
  }
  const messages = new MessageServiceClient(target, credentials.createInsecure(), streamingClientOptions);
  // On the same connection as `messages`: grpc-js shares a subchannel for equal targets and options.
  const bench = new BenchServiceClient(target, credentials.createInsecure(), streamingClientOptions);
  const close = (): void => {
    messages.close();
    bench.close();
  };
  if (impl === "grpc-mpsc") {
    return {
      messages: oursBidi((md, o) => messages.streamMessages(md, o)),
      chunks: oursBidi((md, o) => bench.echo(md, o)),
      flood: async (request, see) => {
        const { rx, status } = serverStreamCall((req, md, o) => bench.flood(req, md, o), request);
        await readEach(rx, see);
        await status;
      },
      upload: async (n, make) => {
        const { tx, response } = clientStreamCall<Chunk, UploadSummary>((md, o, cb) =>
          bench.upload(md, o, cb),
        );
        await sendAll(tx, n, make);
        return response;
      },
      close,
    };
  }
  return {
    messages: rawBidi(() => messages.streamMessages()),
    chunks: rawBidi(() => bench.echo()),
    flood: (request, see) => readAll(bench.flood(request), see),
    upload: async (n, make) => {
      let call: ClientWritableStream<Chunk> | undefined;
      const response = new Promise<UploadSummary>((resolve, reject) => {
        call = bench.upload((error, summary) => (error ? reject(error) : resolve(summary)));
      });
      response.catch(() => {}); // awaited below, unless the write loop fails first
      if (call) await writeAll(call, n, make, response);
      return response;
    },
    close,
  };
}
