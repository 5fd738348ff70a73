/**
 * Peak-RSS case, run as its own process: `tsx bench/cases/slow-reader-process.ts <naive|grpc-mpsc> <messages>`.
 * Starts a server that reads slowly (50 messages per millisecond at most), then writes `messages`
 * 1 KiB messages to it as fast as it can, sampling this process's RSS. `naive` is raw grpc-js ignoring
 * write()'s return value; `grpc-mpsc` is `bidiCall`, whose `send` waits. Prints one JSON line:
 * `{ "peakMiB": <peak RSS above the baseline>, "received": <messages the server read> }`.
 */
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import { bidiCall, serveBidi, streamingClientOptions } from "grpc-mpsc/grpc";
import {
  type MessageRequest,
  type MessageResponse,
  MessageServiceClient,
  MessageServiceService,
} from "../../examples/generated/messages.js";

const mode = process.argv[2];
const total = Number(process.argv[3] ?? 20_000);
/** A distinct 1 KiB message each time (a shared string would make buffered messages look free). */
const message = (i: number): MessageRequest => ({ name: String(i).padEnd(1024, "x") });

let received = 0;
const server = new Server();
server.addService(MessageServiceService, {
  streamMessages: serveBidi<MessageRequest, MessageResponse>(async (requests, responses) => {
    for (let batch = await requests.recvMany(50); batch.length > 0; batch = await requests.recvMany(50)) {
      received += batch.length;
      await sleep(1);
    }
    await responses.send({ message: String(received) });
  }),
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
);
const client = new MessageServiceClient(
  `127.0.0.1:${port}`,
  credentials.createInsecure(),
  streamingClientOptions,
);

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
} else if (mode === "grpc-mpsc") {
  const { tx, rx, status } = bidiCall((md, o) => client.streamMessages(md, o));
  for (let i = 0; i < total; i++) await tx.send(message(i));
  tx.close();
  for await (const _ of rx) {
    // the server's count
  }
  await status;
} else {
  throw new Error(`mode must be naive or grpc-mpsc, got ${String(mode)}`);
}
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
client.close();
server.forceShutdown();
if (received !== total) throw new Error(`the server read ${received} of ${total}`);
console.log(JSON.stringify({ peakMiB: (peak - baseline) / 2 ** 20, received }));
