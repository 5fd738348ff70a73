/**
 * Heap per open idle bidi stream, run as its own process (`node --expose-gc --import tsx
 * bench/cases/heap-process.ts <grpc-mpsc|raw grpc-js|h2|"bare http2"> <streams>`, printing `{ "kib": ... }`): what
 * a server that keeps many long-lived streams (workers that stay connected, fan-out) pays per stream.
 * Client and server run in this one process, so the figure is both ends of a stream together:
 * `serveBidi` + `bidiCall` against a raw grpc-js echo handler + a raw call with a 'data' listener,
 * grpc-mpsc's own transport (`grpc-mpsc/h2`: its server and `bidiCall`), and the bare-http2 ceiling
 * (bench/cases/h2-ceiling.ts: its echo server, a `BareStream` on one session).
 * A fresh process per measurement: in a long-lived one, what earlier runs left for grpc-js's timers
 * to release (closed channels, sessions) is freed in the middle of the next and skews it.
 *
 * Each stream is opened and answers one round trip (so that both ends are set up and the handler is
 * parked waiting), then held; the JS heap is measured after full GCs before and after, and every
 * stream is closed in order at the end.
 */
import { once } from "node:events";
import type http2 from "node:http2";
import { fileURLToPath } from "node:url";
import { type ClientDuplexStream, credentials } from "@grpc/grpc-js";
import { type BidiCall, bidiCall, streamingClientOptions } from "grpc-mpsc/grpc";
import { connect as connectH2, type H2BidiCall, type H2Client } from "grpc-mpsc/h2";
import PQueue from "p-queue";
import {
  type MessageRequest,
  type MessageResponse,
  MessageServiceClient,
  MessageServiceService,
} from "../../examples/generated/messages.js";
import { address, startServer } from "./grpc-servers.js";
import { BareStream, h2Session } from "./h2-ceiling.js";
import { type HeapImpl, heapImpls } from "./impls.js";

/** How many streams are being opened at a time. */
const OPENING = 100;

/** The JS heap in use after full collections. */
function settledHeap(): number {
  const gc = global.gc;
  if (gc === undefined) throw new Error("heap per stream: run node with --expose-gc");
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** A client, an open stream as a user holds it, and how to end each. */
interface Holder<C, H> {
  connect(port: number): C;
  disconnect(client: C): void;
  open(client: C, i: number): Promise<H>;
  close(stream: H): Promise<void>;
}

/** A grpc-js client of the reference service. */
const grpcJsClient = {
  connect: (port: number): MessageServiceClient =>
    new MessageServiceClient(address(port), credentials.createInsecure(), streamingClientOptions),
  disconnect: (client: MessageServiceClient): void => client.close(),
};

/** A stream on channels (the adapters' `bidiCall`, or h2's), held after one echo; closed by a half-close. */
const onChannels = {
  async opened<
    T extends BidiCall<MessageRequest, MessageResponse> | H2BidiCall<MessageRequest, MessageResponse>,
  >(call: T, i: number): Promise<T> {
    await call.tx.send({ name: String(i) });
    expectEcho(await call.rx.recv(), i);
    return call;
  },
  async close({
    tx,
    rx,
    status,
  }: BidiCall<MessageRequest, MessageResponse> | H2BidiCall<MessageRequest, MessageResponse>): Promise<void> {
    tx.close();
    if ((await rx.recv()) !== undefined) throw new Error("a response after the echo");
    await status;
  },
};

const expectEcho = (res: MessageResponse | undefined, i: number): void => {
  if (res?.message !== String(i)) throw new Error(`stream ${i}: answered ${JSON.stringify(res)}`);
};

const ours: Holder<MessageServiceClient, BidiCall<MessageRequest, MessageResponse>> = {
  ...grpcJsClient,
  open: (client, i) =>
    onChannels.opened(
      bidiCall((md, o) => client.streamMessages(md, o)),
      i,
    ),
  close: onChannels.close,
};

const h2: Holder<H2Client, H2BidiCall<MessageRequest, MessageResponse>> = {
  connect: (port) => connectH2(address(port)),
  disconnect: (client) => client.close(),
  open: (client, i) => onChannels.opened(client.bidiCall(MessageServiceService.streamMessages), i),
  close: onChannels.close,
};

/** The ceiling's client: a bare node:http2 session, a stream held after one echo, closed by a half-close. */
const bare: Holder<http2.ClientHttp2Session, BareStream> = {
  connect: h2Session,
  disconnect: (session) => session.close(),
  async open(session, i) {
    const stream = new BareStream(session);
    stream.send({ name: String(i) });
    expectEcho(await stream.recv(), i);
    return stream;
  },
  async close(stream) {
    await stream.end();
    if ((await stream.recv()) !== undefined) throw new Error("a response after the echo");
  },
};

const raw: Holder<MessageServiceClient, ClientDuplexStream<MessageRequest, MessageResponse>> = {
  ...grpcJsClient,
  async open(client, i) {
    const call = client.streamMessages();
    call.on("error", () => {});
    const first = new Promise<MessageResponse>((resolve) => call.on("data", resolve));
    call.write({ name: String(i) });
    expectEcho(await first, i);
    return call;
  },
  async close(call) {
    const ended = once(call, "status");
    call.end();
    await ended;
  },
};

/** Called with the settled heap before the streams open and while they are held (a profile's snapshots). */
export type AtSettled = (moment: "baseline" | "held") => void;

async function measure<C, H>(
  impl: HeapImpl,
  holder: Holder<C, H>,
  streams: number,
  atSettled?: AtSettled,
): Promise<number> {
  const server = await startServer(impl);
  const client = holder.connect(server.port);
  try {
    // One stream first, so that the connection and everything made once per process are in the baseline.
    await holder.close(await holder.open(client, -1));
    const before = settledHeap();
    atSettled?.("baseline");
    const queue = new PQueue({ concurrency: OPENING });
    const held = await Promise.all(
      Array.from({ length: streams }, (_, i) => queue.add(() => holder.open(client, i))),
    );
    const after = settledHeap();
    atSettled?.("held");
    await Promise.all(held.map((h) => queue.add(() => holder.close(h))));
    return (after - before) / streams / 1024;
  } finally {
    holder.disconnect(client);
    await server.stop();
  }
}

/** KiB of JS heap per open idle stream (client and server ends together) with `streams` open. */
export function heapPerStream(impl: HeapImpl, streams: number, atSettled?: AtSettled): Promise<number> {
  if (impl === "h2") return measure(impl, h2, streams, atSettled);
  if (impl === "bare http2") return measure(impl, bare, streams, atSettled);
  return impl === "grpc-mpsc"
    ? measure(impl, ours, streams, atSettled)
    : measure(impl, raw, streams, atSettled);
}

/** The implementation and stream count of a heap script's command line (`script` names it in the usage). */
export function heapArgs(script: string): { impl: HeapImpl; streams: number } {
  const impl = heapImpls.find((i) => i === process.argv[2]);
  const streams = Number(process.argv[3]);
  if (impl === undefined || !(streams >= 1)) {
    throw new Error(`usage: ${script} <${heapImpls.join("|")}> <streams>, got ${process.argv.slice(2)}`);
  }
  return { impl, streams };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { impl, streams } = heapArgs("heap-process.ts");
  console.log(JSON.stringify({ kib: await heapPerStream(impl, streams) }));
}
