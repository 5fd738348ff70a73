/**
 * The reference MessageService client, as the seed's tonic client behaves: it sends its name every
 * `intervalMs` through its own channel of capacity 4 (the call's `tx`, the seed's `mpsc::channel(4)`)
 * and prints every response. After `count` responses it cancels the call, which is what dropping the
 * response stream does in tonic (the server keeps streaming until the client leaves, so waiting for
 * it to end the call would wait forever), and exits 0. `--count 0` runs until Ctrl-C, which cancels
 * the call too and exits 0. When the call fails it prints the status code, details and trailers and
 * exits 1.
 *
 * Run: `npm run example:client -- --target 127.0.0.1:50051 --name Ada --count 5 --interval-ms 1000`
 * (or `npx tsx examples/message-service/client.ts ...`); `--help` lists the flags.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { credentials, type Metadata, status } from "@grpc/grpc-js";
import type { Receiver, Sender } from "grpc-mpsc";
import { bidiCall, GrpcError, streamingClientOptions } from "grpc-mpsc/grpc";
import { connect } from "grpc-mpsc/h2";
import {
  checkTarget,
  type FlagSpecs,
  parseFlags,
  plural,
  runCli,
  type Transport,
  transportOption,
} from "../cli.js";
import {
  type MessageRequest,
  type MessageResponse,
  MessageServiceClient,
  MessageServiceService,
} from "../generated/messages.js";

/** Options of {@link runClient}. */
export interface ClientOptions {
  /** host:port of the server. */
  target: string;
  /** The name this client sends. */
  name: string;
  /** How many responses to read before cancelling the call; 0: until `signal` aborts. */
  count: number;
  /** Interval between two names sent. */
  intervalMs: number;
  /** Aborting it (Ctrl-C) cancels the call; {@link runClient} then resolves. */
  signal?: AbortSignal;
  /** Where log lines go. Default `console.log`. */
  log?: (line: string) => void;
  /** The gRPC transport: grpc-js with the adapters (default), or `grpc-mpsc/h2`. */
  transport?: Transport;
}

/** What a run did. */
export interface ClientResult {
  /** Every response received, in order. */
  responses: string[];
  /** How many names were handed to the call. */
  sent: number;
  /** Why the run ended: `count` reached, `signal` aborted, or the server ended the call with OK. */
  ended: "count" | "interrupted" | "server-ended";
}

/**
 * Runs the client. Resolves once the call is over: cancelled by this client (after `count` responses
 * or when `signal` aborts), or ended by the server with OK. Rejects with a {@link GrpcError} (code,
 * details, trailers) when the call failed.
 */
export async function runClient(options: ClientOptions): Promise<ClientResult> {
  const log = options.log ?? console.log;
  const client = openCall(options);
  const stopNames = new AbortController();
  let cancelled = false;
  try {
    const { tx, rx } = client;
    const names = (async () => {
      let sent = 0;
      try {
        for (;;) {
          await tx.send({ name: options.name }); // waits while 4 are queued; rejects once the call is over
          sent++;
          await sleep(options.intervalMs, undefined, { signal: stopNames.signal });
        }
      } catch {
        return sent;
      }
    })();
    const responses: string[] = [];
    const of = options.count > 0 ? `/${options.count}` : "";
    let ended: ClientResult["ended"] = "server-ended";
    try {
      for await (const res of rx) {
        responses.push(res.message);
        log(`client: response ${responses.length}${of}: ${res.message}`);
        if (responses.length === options.count) {
          ended = "count";
          break; // leaving the loop closes rx, which cancels the call: tonic's drop of the stream
        }
      }
    } catch (err) {
      // Our own cancel (Ctrl-C) rejects rx with CANCELLED; anything else is the call failing.
      if (!options.signal?.aborted) throw err;
    }
    if (ended !== "count" && options.signal?.aborted) ended = "interrupted";
    cancelled = ended !== "server-ended";
    stopNames.abort();
    const sent = await names;
    const how = {
      count: "cancelled the call, as planned",
      interrupted: "cancelled the call on Ctrl-C",
      "server-ended": "the server ended the call with OK",
    }[ended];
    log(`client: ${plural(responses.length, "response")}, sent its name ${plural(sent, "time")}; ${how}`);
    return { responses, sent, ended };
  } finally {
    stopNames.abort();
    // The cancel's RST_STREAM is written on a later turn of the event loop: closing the client at
    // once takes the connection down before it (a grpc-js server then logs "the client's connection
    // was lost"), or sends the END_STREAM grpc-js writes first without the reset (the server logs a
    // half-close before the cancel). Close it once the cancel is out.
    if (cancelled) setTimeout(() => client.close(), 200);
    else client.close();
  }
}

/** The call's channels on the chosen transport, and how to close its client. */
function openCall(options: ClientOptions): {
  tx: Sender<MessageRequest>;
  rx: Receiver<MessageResponse>;
  close(): void;
} {
  const callOptions = { requestCapacity: 4, signal: options.signal };
  if (options.transport === "h2") {
    const client = connect(options.target);
    const { tx, rx } = client.bidiCall(MessageServiceService.streamMessages, callOptions);
    return { tx, rx, close: () => client.close() };
  }
  const client = new MessageServiceClient(
    options.target,
    credentials.createInsecure(),
    streamingClientOptions,
  );
  const { tx, rx } = bidiCall((md, opts) => client.streamMessages(md, opts), callOptions);
  return { tx, rx, close: () => client.close() };
}

/** `key=value` pairs of metadata (binary values in base64), or `(none)`. */
export function formatMetadata(metadata: Metadata): string {
  const pairs = Object.entries(metadata.toJSON()).flatMap(([key, values]) =>
    values.map((v) => `${key}=${typeof v === "string" ? v : v.toString("base64")}`),
  );
  return pairs.length > 0 ? pairs.join(", ") : "(none)";
}

const usage = `usage: client.ts [--target HOST:PORT] [--name TEXT] [--count N] [--interval-ms N] [--transport grpc-js|h2]
  --target       the server (default 127.0.0.1:50051)
  --name         the name to send (default grpc-mpsc)
  --count        responses to print before cancelling the call; 0 runs until Ctrl-C (default 5)
  --interval-ms  time between two names sent (default 1000)
${transportOption.usage}`;

/** The client's command-line flags. */
export const clientFlags = {
  target: { type: "string", default: "127.0.0.1:50051", check: checkTarget },
  name: { type: "string", default: "grpc-mpsc" },
  count: { type: "integer", default: 5, min: 0, max: 1_000_000_000 },
  "interval-ms": { type: "integer", default: 1000, min: 1, max: 3_600_000 },
  transport: transportOption.flag,
} satisfies FlagSpecs;

async function main(): Promise<number> {
  const flags = parseFlags(clientFlags, process.argv.slice(2));
  const interrupt = new AbortController();
  process.once("SIGINT", () => {
    console.log("client: Ctrl-C, cancelling the call");
    interrupt.abort();
  });
  try {
    const { ended } = await runClient({
      target: flags.target,
      name: flags.name,
      count: flags.count,
      intervalMs: flags["interval-ms"],
      signal: interrupt.signal,
      transport: transportOption.of(flags.transport),
    });
    // We cancelled the call (its status already rejected with CANCELLED), but the RST_STREAM that
    // tells the server is written on a later turn of the event loop. Exiting at once would take the
    // connection down first, and the server would log "the client's connection was lost" instead of
    // "cancelled by the client": give the cancel a moment to reach the wire.
    if (ended !== "server-ended") await sleep(200);
    return 0;
  } catch (err) {
    if (!(err instanceof GrpcError)) throw err;
    console.error(
      `client: the call failed with code ${err.code} (${status[err.code]}), details ${JSON.stringify(err.details)}, trailers: ${formatMetadata(err.metadata)}`,
    );
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCli("client", usage, main);
}
