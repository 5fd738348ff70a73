/**
 * Peak-RSS case, run as its own process: `tsx bench/cases/slow-reader-process.ts <naive|grpc-mpsc|h2> <messages>`.
 * Starts a server that reads slowly (50 messages per millisecond at most), then writes `messages`
 * 1 KiB messages to it as fast as it can, sampling this process's RSS. `naive` is raw grpc-js ignoring
 * write()'s return value; `grpc-mpsc` is `bidiCall`, whose `send` waits; `h2` is the same handler and
 * the same `send` loop on grpc-mpsc's own transport (`grpc-mpsc/h2`, server and client). Prints one
 * JSON line: `{ "peakMiB": <peak RSS above the baseline>, "received": <messages the server read> }`.
 */
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import type { Receiver, Sender } from "grpc-mpsc";
import { bidiCall, serveBidi, streamingClientOptions } from "grpc-mpsc/grpc";
import { connect as connectH2, createServer as createH2Server } from "grpc-mpsc/h2";
import {
  type MessageRequest,
  type MessageResponse,
  MessageServiceClient,
  MessageServiceService,
} from "../../examples/generated/messages.js";

const mode = process.argv[2];
const total = Number(process.argv[3] ?? 20_000);
if (mode !== "naive" && mode !== "grpc-mpsc" && mode !== "h2") {
  throw new Error(`mode must be naive, grpc-mpsc or h2, got ${String(mode)}`);
}
/** A distinct 1 KiB message each time (a shared string would make buffered messages look free). */
const message = (i: number): MessageRequest => ({ name: String(i).padEnd(1024, "x") });

let received = 0;
/** The slow reader, on either transport: 50 messages a millisecond at most, then one response, the count. */
async function readSlowly(
  requests: Receiver<MessageRequest>,
  responses: Sender<MessageResponse>,
): Promise<void> {
  for (let batch = await requests.recvMany(50); batch.length > 0; batch = await requests.recvMany(50)) {
    received += batch.length;
    await sleep(1);
  }
  await responses.send({ message: String(received) });
}

/** grpc-mpsc's writer on either transport: each `send` awaited, then the server's count read. */
async function sendAll(call: {
  tx: Sender<MessageRequest>;
  rx: AsyncIterable<MessageResponse>;
  status: Promise<unknown>;
}): Promise<void> {
  for (let i = 0; i < total; i++) await call.tx.send(message(i));
  call.tx.close();
  for await (const _ of call.rx) {
    // the server's count
  }
  await call.status;
}

const h2Server =
  mode === "h2"
    ? createH2Server().addService(MessageServiceService, { streamMessages: readSlowly })
    : undefined;
const server = new Server();
let port: number;
if (h2Server !== undefined) {
  port = await h2Server.listen(0);
} else {
  server.addService(MessageServiceService, {
    streamMessages: serveBidi<MessageRequest, MessageResponse>(readSlowly),
  });
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
}
// Made in every mode, before the baseline as before; in h2's it is never called, so never connects.
const client = new MessageServiceClient(
  `127.0.0.1:${port}`,
  credentials.createInsecure(),
  streamingClientOptions,
);
const h2Client = mode === "h2" ? connectH2(`127.0.0.1:${port}`) : undefined;

global.gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 5);

if (mode === "naive") {
  const call = client.streamMessages();
  call.on("data", () => {});
  const ended = once(call, "status");
  for (let i = 0; i < total; i++) call.write(message(i)); // ignores the return value
  call.end();
  peak = Math.max(peak, process.memoryUsage().rss);
  await ended;
} else if (h2Client !== undefined) {
  await sendAll(h2Client.bidiCall(MessageServiceService.streamMessages));
} else {
  await sendAll(bidiCall((md, o) => client.streamMessages(md, o)));
}
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
client.close();
h2Client?.close();
server.forceShutdown();
h2Server?.forceShutdown();
if (received !== total) throw new Error(`the server read ${received} of ${total}`);
console.log(JSON.stringify({ peakMiB: (peak - baseline) / 2 ** 20, received }));
