/**
 * The reference MessageService server, as the seed's tonic server behaves. For each client it starts
 * a hello loop that sends "Hello, world!" every `intervalMs` through a `Sender` of capacity 4 (the
 * seed's `mpsc::channel(4)`) until a send fails, which means the client went away. The client's own
 * stream of names is read and logged meanwhile, but its end is not the end of the call: a half-close
 * only says the client has nothing more to send, so the hellos go on until the client cancels or
 * disconnects.
 *
 * Run: `npm run example:server -- --port 50051 --interval-ms 1000` (or
 * `npx tsx examples/message-service/server.ts --port 50051 --interval-ms 1000`); `--help` lists the
 * flags. Ctrl-C (SIGINT) or SIGTERM ends every open stream at once with UNAVAILABLE and stops the
 * server (forced after 5 s if anything is left).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import type { Receiver, Sender } from "grpc-mpsc";
import { GrpcError, serveBidi, shutdownServer, streamingServerOptions } from "grpc-mpsc/grpc";
import { createServer } from "grpc-mpsc/h2";
import { type FlagSpecs, parseFlags, plural, runCli, type Transport, transportOption } from "../cli.js";
import {
  type MessageRequest,
  type MessageResponse,
  type MessageServiceServer,
  MessageServiceService,
} from "../generated/messages.js";

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Port on 127.0.0.1 (0: any free port). Default 50051. */
  port?: number;
  /** Interval between two "Hello, world!" messages to each client. Default 1000 ms. */
  intervalMs?: number;
  /** Where log lines go. Default `console.log`. */
  log?: (line: string) => void;
  /** The gRPC transport: grpc-js with the adapters (default), or `grpc-mpsc/h2`. */
  transport?: Transport;
}

/** A running server. */
export interface RunningServer {
  /** The port it listens on. */
  readonly port: number;
  /** Calls being served, each with its hello loop (one per connected client); 0 once each has logged its end. */
  readonly activeLoops: number;
  /** Stops accepting calls, ends the open streams at once with UNAVAILABLE, forced after `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Why an error ended something, for the log: `CANCELLED: cancelled by the client`, or its message. */
function reasonOf(err: unknown): string {
  if (err instanceof GrpcError) return `${status[err.code]}: ${err.details}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Sends "Hello, world!" every `intervalMs` until a send fails or `signal` aborts (the call is gone);
 * resolves with how many it sent and why it stopped.
 */
async function helloLoop(
  responses: Sender<MessageResponse>,
  intervalMs: number,
  signal: AbortSignal,
): Promise<{ sent: number; why: string }> {
  let sent = 0;
  try {
    for (;;) {
      await sleep(intervalMs, undefined, { signal });
      await responses.send({ message: "Hello, world!" }); // rejects once the client is gone
      sent++;
    }
  } catch (err) {
    // The seed's `if tx.send(..).await.is_err() { break }`. The signal's reason names the cause
    // (cancel, deadline, lost connection) better than the SendError does.
    return { sent, why: reasonOf(signal.aborted ? signal.reason : err) };
  }
}

/** Logs the names a client sends, then how its stream ended: a half-close, or the call failing. */
async function logNames(
  requests: Receiver<MessageRequest>,
  peer: string,
  log: (line: string) => void,
): Promise<void> {
  try {
    for await (const req of requests) log(`server: ${peer} sent name "${req.name}"`);
    log(`server: ${peer} half-closed its stream; the hellos go on until it cancels`);
  } catch (err) {
    log(`server: ${peer}'s stream ended with ${reasonOf(err)}`);
  }
}

/** Starts the server on 127.0.0.1. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const intervalMs = options.intervalMs ?? 1000;
  const log = options.log ?? console.log;
  let activeLoops = 0;
  const streamMessages: StreamMessages = async (requests, responses, ctx) => {
    const peer = ctx.peer; // read it now: grpc-js forgets it once the call is over
    log(`server: ${peer} connected`);
    activeLoops++;
    try {
      const hellos = helloLoop(responses, intervalMs, ctx.signal);
      const names = logNames(requests, peer, log);
      // The handler's promise is the call: it ends when the hello loop does, whatever the client's
      // stream did meanwhile. By then the call is gone, so the names' loop ends at once too.
      const { sent, why } = await hellos;
      await names;
      log(`server: stream to ${peer} ended after ${plural(sent, "hello")} (${why})`);
    } finally {
      activeLoops--;
    }
  };
  const listening =
    options.transport === "h2" ? h2Server(streamMessages, options) : grpcJsServer(streamMessages, options);
  const { port, shutdown } = await listening;
  log(`server: listening on 127.0.0.1:${port}`);
  return {
    port,
    get activeLoops() {
      return activeLoops;
    },
    shutdown,
  };
}

/** The handler of one call, on either transport (what it reads of `ctx` both have). */
type StreamMessages = (
  requests: Receiver<MessageRequest>,
  responses: Sender<MessageResponse>,
  ctx: { readonly peer: string; readonly signal: AbortSignal },
) => Promise<void>;

/** The transport-specific part of a running server. */
type Listening = Pick<RunningServer, "port" | "shutdown">;

/** The service on grpc-js with the adapters. */
async function grpcJsServer(streamMessages: StreamMessages, options: ServerOptions): Promise<Listening> {
  const server = new Server(streamingServerOptions);
  // Every handler gets this signal: shutting down aborts it, and each open stream ends at once with
  // UNAVAILABLE instead of holding the shutdown until the grace period runs out.
  const stopping = new AbortController();
  server.addService(MessageServiceService, {
    streamMessages: serveBidi(streamMessages, { responseCapacity: 4, shutdownSignal: stopping.signal }),
  } satisfies MessageServiceServer);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `127.0.0.1:${options.port ?? 50051}`,
      ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    );
  });
  return {
    port,
    shutdown: async (graceMs = 5000) => {
      await shutdownServer(server, { abort: stopping, graceMs });
    },
  };
}

/** The same service on grpc-mpsc/h2. */
async function h2Server(streamMessages: StreamMessages, options: ServerOptions): Promise<Listening> {
  const server = createServer({ responseCapacity: 4 }).addService(MessageServiceService, {
    streamMessages: (requests, responses, ctx) => streamMessages(requests, responses, ctx),
  });
  const port = await server.listen(options.port ?? 50051);
  return {
    port,
    // No grace for the calls: GOAWAY, every open stream ends now with UNAVAILABLE (their ctx.signal
    // aborts); connections that are still open after graceMs are closed.
    shutdown: async (graceMs = 5000) => {
      let timer: NodeJS.Timeout | undefined;
      const forced = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
      });
      await Promise.race([server.shutdown(0), forced]);
      clearTimeout(timer);
    },
  };
}

const usage = `usage: server.ts [--port N] [--interval-ms N] [--transport grpc-js|h2]
  --port         port on 127.0.0.1, 0 for any free port (default 50051)
  --interval-ms  time between two hellos to each client (default 1000)
${transportOption.usage}`;

/** The server's command-line flags. */
export const serverFlags = {
  port: { type: "integer", default: 50051, min: 0, max: 65535 },
  "interval-ms": { type: "integer", default: 1000, min: 1, max: 3_600_000 },
  transport: transportOption.flag,
} satisfies FlagSpecs;

async function main(): Promise<undefined> {
  const flags = parseFlags(serverFlags, process.argv.slice(2));
  // Listened to before the server starts: a Ctrl-C right after "listening" is a shutdown too.
  let stopping: string | undefined;
  let running: Awaited<ReturnType<typeof startServer>> | undefined;
  const stop = (signal: string): void => {
    stopping = signal;
    if (running === undefined) return; // once it is up
    console.log(`server: ${signal}, shutting down: every open stream ends now with UNAVAILABLE`);
    void running.shutdown(5000).then(() => process.exit(0));
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  running = await startServer({
    port: flags.port,
    intervalMs: flags["interval-ms"],
    transport: transportOption.of(flags.transport),
  });
  if (stopping !== undefined) stop(stopping);
  return undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCli("server", usage, main);
}
