/**
 * The servers of the gRPC cases, one per implementation, each serving the reference service
 * (MessageService.StreamMessages: echo `name` back as `message`) and the bench service
 * (proto/bench.proto: Flood, Upload, Echo of chunks), on 127.0.0.1 and an ephemeral port.
 */
import {
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerWritableStream,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { serveBidi, serveClientStream, serveServerStream } from "grpc-mpsc/grpc";
import { createServer as createH2Server } from "grpc-mpsc/h2";
import { createServer, type Server as NiceServer } from "nice-grpc";
import * as bench from "../../examples/generated/bench.js";
import * as messages from "../../examples/generated/messages.js";
import { payloadOf, type Running, UploadCount } from "./grpc-types.js";
import { startH2 } from "./h2-ceiling.js";
import type { EchoImpl } from "./impls.js";

/** The address of a server on this machine. */
export const address = (port: number): string => `127.0.0.1:${port}`;

/** Starts `server` on 127.0.0.1 and an ephemeral port. */
export async function bind(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address(0), ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
}

/** An Upload handler's work, for the implementations that read chunks as an async iterable. */
async function countUpload(chunks: AsyncIterable<bench.Chunk>): Promise<bench.UploadSummary> {
  const count = new UploadCount();
  for await (const chunk of chunks) count.add(chunk);
  return count.summary();
}

/** Raw grpc-js echo handler with correct backpressure: pause reading until 'drain'. */
function rawEcho<Req, Res>(reply: (req: Req) => Res): (call: ServerDuplexStream<Req, Res>) => void {
  return (call) => {
    call.on("data", (req: Req) => {
      if (!call.write(reply(req))) {
        call.pause();
        call.once("drain", () => call.resume());
      }
    });
    call.on("end", () => call.end());
    call.on("error", () => {});
  };
}

/** Raw grpc-js flood with correct backpressure: write until write() says full, go on at 'drain'. */
function rawFlood(call: ServerWritableStream<bench.FloodRequest, bench.Chunk>): void {
  const { count, size } = call.request;
  const payload = payloadOf(size);
  let seq = 0;
  let cancelled = false;
  call.on("cancelled", () => {
    cancelled = true;
  });
  call.on("error", () => {});
  const pump = (): void => {
    while (!cancelled && seq < count) {
      if (!call.write({ seq: seq++, payload })) {
        call.once("drain", pump);
        return;
      }
    }
    if (!cancelled) call.end();
  };
  pump();
}

function rawUpload(
  call: ServerReadableStream<bench.Chunk, bench.UploadSummary>,
  done: sendUnaryData<bench.UploadSummary>,
): void {
  const count = new UploadCount();
  call.on("data", (chunk: bench.Chunk) => count.add(chunk));
  call.on("end", () => done(null, count.summary()));
  call.on("error", () => {});
}

const toResponse = (req: messages.MessageRequest): messages.MessageResponse => ({ message: req.name });

/** Starts the server of `impl`. */
export async function startServer(impl: EchoImpl): Promise<Running> {
  if (impl === "bare http2") return startH2();
  if (impl === "h2") {
    // grpc-js's server sets no session memory limit; Node's default (10 MiB, which h2 keeps) resets
    // the streams past about 10,000 idle ones on a connection (the heap case's 10,000).
    const server = createH2Server({ maxSessionMemory: 1024 })
      .addService(messages.MessageServiceService, {
        streamMessages: async (requests, responses) => {
          for await (const req of requests) await responses.send(toResponse(req));
        },
      })
      .addService(bench.BenchServiceService, {
        flood: async ({ count, size }, chunks) => {
          const payload = payloadOf(size);
          for (let seq = 0; seq < count; seq++) await chunks.send({ seq, payload });
        },
        upload: countUpload,
        echo: async (requests, responses) => {
          for await (const chunk of requests) await responses.send(chunk);
        },
      });
    const port = await server.listen(0);
    return { port, stop: async () => server.forceShutdown() };
  }
  if (impl === "nice-grpc") {
    const server: NiceServer = createServer();
    server.add(messages.MessageServiceService, {
      async *streamMessages(requests: AsyncIterable<messages.MessageRequest>) {
        for await (const req of requests) yield toResponse(req);
      },
    });
    server.add(bench.BenchServiceService, {
      async *flood({ count, size }: bench.FloodRequest) {
        const payload = payloadOf(size);
        for (let seq = 0; seq < count; seq++) yield { seq, payload };
      },
      upload: countUpload,
      async *echo(chunks: AsyncIterable<bench.Chunk>) {
        yield* chunks;
      },
    });
    const port = await server.listen(address(0));
    return { port, stop: () => server.shutdown() };
  }
  const server = new Server();
  if (impl === "grpc-mpsc") {
    server.addService(messages.MessageServiceService, {
      streamMessages: serveBidi<messages.MessageRequest, messages.MessageResponse>(
        async (requests, responses) => {
          for await (const req of requests) await responses.send(toResponse(req));
        },
      ),
    });
    server.addService(bench.BenchServiceService, {
      flood: serveServerStream<bench.FloodRequest, bench.Chunk>(async ({ count, size }, chunks) => {
        const payload = payloadOf(size);
        for (let seq = 0; seq < count; seq++) await chunks.send({ seq, payload });
      }),
      upload: serveClientStream<bench.Chunk, bench.UploadSummary>(countUpload),
      echo: serveBidi<bench.Chunk, bench.Chunk>(async (requests, responses) => {
        for await (const chunk of requests) await responses.send(chunk);
      }),
    });
  } else {
    server.addService(messages.MessageServiceService, { streamMessages: rawEcho(toResponse) });
    server.addService(bench.BenchServiceService, {
      flood: rawFlood,
      upload: rawUpload,
      echo: rawEcho((chunk: bench.Chunk) => chunk),
    });
  }
  const port = await bind(server);
  return { port, stop: async () => server.forceShutdown() };
}

/**
 * Starts the server of `impl` and opens a client to it, then times `body` alone (the connection is
 * made by its first call, as a user's first call makes it); returns seconds. Stops both, also when
 * `body` throws.
 */
export async function timed<C extends { close(): void }>(
  impl: EchoImpl,
  open: (port: number) => C,
  body: (clients: C) => Promise<void>,
): Promise<number> {
  const server = await startServer(impl);
  try {
    const clients = open(server.port);
    try {
      const t0 = performance.now();
      await body(clients);
      return (performance.now() - t0) / 1000;
    } finally {
      clients.close();
    }
  } finally {
    await server.stop();
  }
}
