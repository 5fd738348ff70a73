/**
 * gRPC benchmarks over 127.0.0.1 with the reference service (MessageService.StreamMessages, tiny
 * messages): bidi echo, ping-pong latency and concurrent streams, for grpc-mpsc's adapters, raw
 * grpc-js with correct write()/'drain' backpressure, nice-grpc (bench/cases/grpc-clients.ts),
 * grpc-mpsc's own transport (h2) and the bare-http2 ceiling (bench/cases/h2-ceiling.ts).
 */
import { once } from "node:events";
import { credentials } from "@grpc/grpc-js";
import type { Receiver, Sender } from "grpc-mpsc";
import { bidiCall, streamingClientOptions } from "grpc-mpsc/grpc";
import { connect as connectH2 } from "grpc-mpsc/h2";
import { createChannel, createClient } from "nice-grpc";
import PQueue from "p-queue";
import {
  type MessageRequest,
  type MessageResponse,
  MessageServiceClient,
  MessageServiceService,
} from "../../examples/generated/messages.js";
import { connect } from "./grpc-clients.js";
import { startServer, timed } from "./grpc-servers.js";
import { BareStream, h2Session, pingPongFloor } from "./h2-ceiling.js";
import { type EchoCaseImpl, type EchoImpl, type PingPongImpl, sidesOf } from "./impls.js";

/** One stream of the reference service: send `n` names, hand each response to `onResponse`. */
type Stream = (n: number, onResponse: (message: string, i: number) => void) => Promise<void>;

function clientFor(impl: EchoImpl, port: number): { stream: Stream; close(): void } {
  const clients = connect(impl, port);
  return {
    stream: (n, onResponse) =>
      clients.messages(
        n,
        (i) => ({ name: String(i) }),
        (res, i) => onResponse(res.message, i),
      ),
    close: () => clients.close(),
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
export async function echo(impl: EchoCaseImpl, n: number): Promise<number> {
  const check = inOrder();
  const { server, client: clientImpl } = sidesOf(impl);
  const seconds = await timed(
    server,
    (port) => clientFor(clientImpl, port),
    (client) => client.stream(n, check.see),
  );
  if (check.count() !== n) throw new Error(`echo: ${check.count()} of ${n} responses`);
  return n / seconds;
}

/** grpc-mpsc's ping-pong on either transport: `send`, then `recv` its echo, `n` times, timing each. */
async function pingOnChannels(
  call: { tx: Sender<MessageRequest>; rx: Receiver<MessageResponse>; status: Promise<unknown> },
  n: number,
  samples: number[],
): Promise<void> {
  const { tx, rx, status } = call;
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
}

/** Ping-pong latency on one stream: send one, wait for its echo, `n` times; returns µs p50 and p99. */
export async function pingPong(impl: PingPongImpl, n: number): Promise<{ p50: number; p99: number }> {
  const samples = impl === "http2 floor" ? await pingPongFloor(n) : await pingPongOn(impl, n);
  if (samples.length !== n) throw new Error(`ping-pong: ${samples.length} of ${n}`);
  samples.sort((a, b) => a - b);
  const at = (q: number): number =>
    (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0) * 1000;
  return { p50: at(0.5), p99: at(0.99) };
}

/** The `n` round trips of {@link pingPong} on `impl`'s server and client, in milliseconds. */
async function pingPongOn(impl: EchoImpl, n: number): Promise<number[]> {
  const server = await startServer(impl);
  const target = `127.0.0.1:${server.port}`;
  const samples: number[] = [];
  try {
    if (impl === "bare http2") {
      const session = h2Session(server.port);
      const stream = new BareStream(session);
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        stream.send({ name: String(i) });
        const res = await stream.recv();
        if (res?.message !== String(i)) throw new Error("out of order");
        samples.push(performance.now() - t0);
      }
      await stream.end();
      session.close();
    } else if (impl === "h2") {
      const client = connectH2(target);
      await pingOnChannels(client.bidiCall(MessageServiceService.streamMessages), n, samples);
      client.close();
    } else if (impl === "nice-grpc") {
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
        await pingOnChannels(
          bidiCall((md, o) => client.streamMessages(md, o)),
          n,
          samples,
        );
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
  return samples;
}

/**
 * `streams` bidi echo streams of `n` messages each, all live at once; p-queue bounds how many are
 * being opened at a time (`opening`): a stream counts as opened at its first response.
 */
export async function concurrent(impl: EchoImpl, streams: number, n: number, opening = 50): Promise<number> {
  let total = 0;
  const seconds = await timed(
    impl,
    (port) => clientFor(impl, port),
    async (client) => {
      const queue = new PQueue({ concurrency: opening });
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
      await Promise.all(Array.from({ length: streams }, one));
    },
  );
  return total / seconds;
}
