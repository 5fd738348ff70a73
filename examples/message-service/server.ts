/**
 * The reference MessageService server: every connected client gets "Hello, world!" every
 * `intervalMs` through a `Sender` of capacity 4, fed by its own timer loop that stops as soon as a
 * send fails (the client went away), while the client's own stream of names is read and logged.
 *
 * Run alone: `npm run example:server -- --port 50051 --interval-ms 1000`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Sender } from "grpc-mpsc";
import { serveBidi } from "grpc-mpsc/grpc";
import { type MessageRequest, type MessageResponse, MessageServiceService } from "../generated/messages.js";

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Port on 127.0.0.1 (0: any free port). Default 50051. */
  port?: number;
  /** Interval between two "Hello, world!" messages to each client. Default 1000 ms. */
  intervalMs?: number;
  /** Where log lines go. Default `console.log`. */
  log?: (line: string) => void;
}

/** A running server. */
export interface RunningServer {
  /** The port it listens on. */
  readonly port: number;
  /** Timer loops still running (one per connected client). */
  readonly activeLoops: number;
  /** Graceful shutdown, forced after `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Sends "Hello, world!" every `intervalMs` until a send fails or `signal` aborts; returns how many it sent. */
async function helloLoop(
  responses: Sender<MessageResponse>,
  intervalMs: number,
  signal: AbortSignal,
): Promise<number> {
  let sent = 0;
  try {
    for (;;) {
      await sleep(intervalMs, undefined, { signal });
      await responses.send({ message: "Hello, world!" }); // rejects once the client is gone
      sent++;
    }
  } catch {
    return sent; // the seed's `if tx.send(..).is_err() { break }`
  }
}

/** Starts the server on 127.0.0.1. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const intervalMs = options.intervalMs ?? 1000;
  const log = options.log ?? console.log;
  let activeLoops = 0;
  const server = new Server();
  server.addService(MessageServiceService, {
    streamMessages: serveBidi<MessageRequest, MessageResponse>(
      async (requests, responses, ctx) => {
        log(`server: client ${ctx.peer} connected`);
        const stop = new AbortController();
        activeLoops++;
        const hello = helloLoop(responses, intervalMs, AbortSignal.any([ctx.signal, stop.signal])).finally(
          () => {
            activeLoops--;
          },
        );
        try {
          for await (const req of requests) log(`server: received name "${req.name}"`);
          log(`server: client ${ctx.peer} finished sending`);
        } finally {
          stop.abort();
          const sent = await hello;
          log(`server: stream to ${ctx.peer} ended after ${sent} hellos`);
        }
      },
      { responseCapacity: 4 },
    ),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `127.0.0.1:${options.port ?? 50051}`,
      ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    );
  });
  log(`server: listening on 127.0.0.1:${port}`);
  return {
    port,
    get activeLoops() {
      return activeLoops;
    },
    shutdown: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "50051" },
      "interval-ms": { type: "string", default: "1000" },
    },
  });
  const running = await startServer({ port: Number(values.port), intervalMs: Number(values["interval-ms"]) });
  const stop = (signal: string): void => {
    console.log(`server: ${signal}, shutting down (forced after 5 s)`);
    void running.shutdown(5000).then(() => process.exit(0));
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
