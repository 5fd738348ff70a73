/**
 * gRPC benchmarks over 127.0.0.1 with the reference service (MessageService.StreamMessages, tiny
 * messages): grpc-mpsc's adapters, raw grpc-js with correct write()/'drain' backpressure, and
 * nice-grpc. Every client is created with the same channel options (`streamingClientOptions`), so the
 * comparison is of the stream handling, not of grpc-js's retry buffer (see the README).
 */
import { once } from "node:events";
import { credentials, Server, ServerCredentials, type ServerDuplexStream } from "@grpc/grpc-js";
import { bidiCall, serveBidi, streamingClientOptions } from "grpc-mpsc/grpc";
import { createChannel, createClient, createServer, type Server as NiceServer } from "nice-grpc";
import PQueue from "p-queue";
import {
  type MessageRequest,
  type MessageResponse,
  MessageServiceClient,
  MessageServiceService,
} from "../../examples/generated/messages.js";

/** The three implementations compared. */
export type Impl = "grpc-mpsc" | "raw grpc-js" | "nice-grpc";

/** A server of one implementation, echoing `name` back as `message`. */
interface Running {
  port: number;
  stop(): Promise<void>;
}

async function bind(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
}

/** Raw grpc-js echo handler with correct backpressure: pause reading until 'drain'. */
function rawEcho(call: ServerDuplexStream<MessageRequest, MessageResponse>): void {
  call.on("data", (req: MessageRequest) => {
    if (!call.write({ message: req.name })) {
      call.pause();
      call.once("drain", () => call.resume());
    }
  });
  call.on("end", () => call.end());
  call.on("error", () => {});
}

async function startServer(impl: Impl): Promise<Running> {
  if (impl === "nice-grpc") {
    const server: NiceServer = createServer();
    server.add(MessageServiceService, {
      async *streamMessages(requests: AsyncIterable<MessageRequest>) {
        for await (const req of requests) yield { message: req.name };
      },
    });
    const port = await server.listen("127.0.0.1:0");
    return { port, stop: () => server.shutdown() };
  }
  const server = new Server();
  server.addService(MessageServiceService, {
    streamMessages:
      impl === "grpc-mpsc"
        ? serveBidi<MessageRequest, MessageResponse>(async (requests, responses) => {
            for await (const req of requests) await responses.send({ message: req.name });
          })
        : rawEcho,
  });
  const port = await bind(server);
  return { port, stop: async () => server.forceShutdown() };
}

/** One client stream of a given implementation: send `n` names (with `gap` between for ping-pong). */
type Stream = (n: number, onResponse: (message: string, i: number) => void) => Promise<void>;

function clientFor(impl: Impl, port: number): { stream: Stream; close(): void } {
  const target = `127.0.0.1:${port}`;
  if (impl === "nice-grpc") {
    const ch = createChannel(target, credentials.createInsecure(), streamingClientOptions);
    const client = createClient(MessageServiceService, ch);
    return {
      stream: async (n, onResponse) => {
        async function* requests(): AsyncGenerator<MessageRequest> {
          for (let i = 0; i < n; i++) yield { name: String(i) };
        }
        let i = 0;
        for await (const res of client.streamMessages(requests())) onResponse(res.message, i++);
      },
      close: () => ch.close(),
    };
  }
  const client = new MessageServiceClient(target, credentials.createInsecure(), streamingClientOptions);
  if (impl === "grpc-mpsc") {
    return {
      stream: async (n, onResponse) => {
        const { tx, rx, status } = bidiCall((md, o) => client.streamMessages(md, o));
        const producer = (async () => {
          for (let i = 0; i < n; i++) await tx.send({ name: String(i) });
          tx.close();
        })();
        let i = 0;
        for await (const res of rx) onResponse(res.message, i++);
        await producer;
        await status;
      },
      close: () => client.close(),
    };
  }
  return {
    stream: async (n, onResponse) => {
      const call = client.streamMessages();
      let i = 0;
      call.on("data", (res: MessageResponse) => onResponse(res.message, i++));
      const ended = once(call, "status");
      for (let k = 0; k < n; k++) {
        if (!call.write({ name: String(k) })) await once(call, "drain");
      }
      call.end();
      await ended;
    },
    close: () => client.close(),
  };
}

/** Verifies that responses arrive once and in order. */
function inOrder(): { see: (message: string, i: number) => void; count: () => number } {
  let count = 0;
  return {
    see: (message, i) => {
      if (message !== String(i)) throw new Error(`response ${i} was "${message}"`);
      count++;
    },
    count: () => count,
  };
}

/** Bidi echo throughput: one stream of `n` messages; returns messages per second. */
export async function echo(impl: Impl, n: number): Promise<number> {
  const server = await startServer(impl);
  const client = clientFor(impl, server.port);
  try {
    const check = inOrder();
    const t0 = performance.now();
    await client.stream(n, check.see);
    const seconds = (performance.now() - t0) / 1000;
    if (check.count() !== n) throw new Error(`echo: ${check.count()} of ${n} responses`);
    return n / seconds;
  } finally {
    client.close();
    await server.stop();
  }
}

/** Ping-pong latency on one stream: send one, wait for its echo, `n` times; returns µs p50 and p99. */
export async function pingPong(impl: Impl, n: number): Promise<{ p50: number; p99: number }> {
  const server = await startServer(impl);
  const target = `127.0.0.1:${server.port}`;
  const samples: number[] = [];
  try {
    if (impl === "nice-grpc") {
      const ch = createChannel(target, credentials.createInsecure(), streamingClientOptions);
      const client = createClient(MessageServiceService, ch);
      let release: () => void = () => {};
      async function* requests(): AsyncGenerator<MessageRequest> {
        for (let i = 0; i < n; i++) {
          const answered = new Promise<void>((r) => (release = r));
          samples.push(performance.now());
          yield { name: String(i) };
          await answered;
        }
      }
      let i = 0;
      for await (const res of client.streamMessages(requests())) {
        if (res.message !== String(i)) throw new Error("out of order");
        samples[i] = performance.now() - (samples[i] ?? 0);
        i++;
        release();
      }
      ch.close();
    } else {
      const client = new MessageServiceClient(target, credentials.createInsecure(), streamingClientOptions);
      if (impl === "grpc-mpsc") {
        const { tx, rx, status } = bidiCall((md, o) => client.streamMessages(md, o));
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          await tx.send({ name: String(i) });
          const res = await rx.recv();
          if (res?.message !== String(i)) throw new Error("out of order");
          samples.push(performance.now() - t0);
        }
        tx.close();
        await rx.recv();
        await status;
      } else {
        const call = client.streamMessages();
        call.on("error", () => {});
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          const answer = once(call, "data") as Promise<[MessageResponse]>;
          call.write({ name: String(i) });
          const [res] = await answer;
          if (res.message !== String(i)) throw new Error("out of order");
          samples.push(performance.now() - t0);
        }
        call.end();
        await once(call, "status");
      }
      client.close();
    }
  } finally {
    await server.stop();
  }
  if (samples.length !== n) throw new Error(`ping-pong: ${samples.length} of ${n}`);
  samples.sort((a, b) => a - b);
  const at = (q: number): number =>
    (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0) * 1000;
  return { p50: at(0.5), p99: at(0.99) };
}

/**
 * `streams` bidi echo streams of `n` messages each, all live at once; p-queue bounds how many are
 * being opened at a time (`opening`): a stream counts as opened at its first response.
 */
export async function concurrent(impl: Impl, streams: number, n: number, opening = 50): Promise<number> {
  const server = await startServer(impl);
  const client = clientFor(impl, server.port);
  const queue = new PQueue({ concurrency: opening });
  try {
    let total = 0;
    const one = async (): Promise<void> => {
      const check = inOrder();
      let opened: () => void = () => {};
      const isOpen = new Promise<void>((resolve) => (opened = resolve));
      let finished: Promise<void> = Promise.resolve();
      await queue.add(async () => {
        finished = client.stream(n, (message, i) => {
          check.see(message, i);
          if (i === 0) opened();
        });
        await Promise.race([isOpen, finished]);
      });
      await finished;
      if (check.count() !== n) throw new Error("lost messages");
      total += n;
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: streams }, one));
    return total / ((performance.now() - t0) / 1000);
  } finally {
    client.close();
    await server.stop();
  }
}
