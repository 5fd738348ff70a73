/**
 * The reference MessageService client: sends its name every `intervalMs` through the call's
 * `Sender`, prints each response, and after `count` responses half-closes its stream and waits for
 * the server to finish the call.
 *
 * Run alone: `npm run example:client -- --target 127.0.0.1:50051 --name Ada --count 5 --interval-ms 1000`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { credentials } from "@grpc/grpc-js";
import { bidiCall, streamingClientOptions } from "grpc-mpsc/grpc";
import { MessageServiceClient } from "../generated/messages.js";

/** Options of {@link runClient}. */
export interface ClientOptions {
  /** host:port of the server. */
  target: string;
  /** The name this client sends. */
  name: string;
  /** How many responses to read before finishing. */
  count: number;
  /** Interval between two names sent. */
  intervalMs: number;
  /** Where log lines go. Default `console.log`. */
  log?: (line: string) => void;
}

/** Runs the client; resolves with the responses it printed once the call ended with OK. */
export async function runClient(options: ClientOptions): Promise<string[]> {
  const log = options.log ?? console.log;
  const client = new MessageServiceClient(
    options.target,
    credentials.createInsecure(),
    streamingClientOptions,
  );
  try {
    const { tx, rx, status } = bidiCall((md, opts) => client.streamMessages(md, opts));
    const names = (async () => {
      let sent = 0;
      try {
        for (;;) {
          await tx.send({ name: options.name }); // rejects once the stream is closed
          sent++;
          await sleep(options.intervalMs);
        }
      } catch {
        return sent;
      }
    })();
    const printed: string[] = [];
    for await (const res of rx) {
      if (printed.length < options.count) {
        printed.push(res.message);
        log(`client: response ${printed.length}/${options.count}: ${res.message}`);
        if (printed.length === options.count) tx.close(); // half-close: the server ends the call
      }
    }
    log(`client: sent its name ${await names} times; call ended with status ${(await status).code} (OK)`);
    return printed;
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: "string", default: "127.0.0.1:50051" },
      name: { type: "string", default: "grpc-mpsc" },
      count: { type: "string", default: "5" },
      "interval-ms": { type: "string", default: "1000" },
    },
  });
  const count = Number(values.count);
  const intervalMs = Number(values["interval-ms"]);
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`--count must be an integer >= 1, got ${values.count}`);
  if (!(intervalMs >= 0)) throw new RangeError(`--interval-ms must be >= 0, got ${values["interval-ms"]}`);
  await runClient({ target: values.target, name: values.name, count, intervalMs });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`client: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
