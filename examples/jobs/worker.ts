/**
 * A worker: connects once to the coordinator and stays connected. It introduces itself, then takes
 * jobs from its stream (a `Receiver`) and answers on the same stream (a `Sender`), until Shutdown.
 *
 * Run: `npm run example:jobs` starts the workers itself. To add one by hand to a running coordinator:
 * `npx tsx examples/jobs/worker.ts --target 127.0.0.1:PORT --id w9 [--capacity 2] [--delay-ms 0]
 * [--fail-first 0]`; `--help` lists the flags.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { credentials } from "@grpc/grpc-js";
import { bidiCall, streamingClientOptions } from "grpc-mpsc/grpc";
import { connect } from "grpc-mpsc/h2";
import {
  checkNotEmpty,
  checkTarget,
  type FlagSpecs,
  parseFlags,
  runCli,
  type Transport,
  transportOption,
} from "../cli.js";
import { type Job, type JobReply, JobServiceClient, JobServiceService } from "../generated/jobs.js";
import { mapChunk, reduceCounts } from "./wordcount.js";

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  target: string;
  id: string;
  /** Jobs the coordinator may give this worker at once. */
  capacity?: number;
  /** Artificial time per job (tests use it to kill a worker mid-run). */
  delayMs?: number;
  /** Answer the first n jobs with an error (tests use it to exercise retries). */
  failFirst?: number;
  /** The gRPC transport: grpc-js with the adapters (default), or `grpc-mpsc/h2`. */
  transport?: Transport;
}

/** Does one job. A failing job is answered with an error, never thrown. */
async function work(job: Job, delayMs: number): Promise<JobReply> {
  if (delayMs > 0) await sleep(delayMs);
  try {
    if (job.map)
      return { id: job.id, error: "", partitions: mapChunk(job.map.text, job.map.partitions), counts: [] };
    if (job.reduce) return { id: job.id, error: "", partitions: [], counts: reduceCounts(job.reduce.counts) };
    return { id: job.id, error: "empty job", partitions: [], counts: [] };
  } catch (err) {
    return {
      id: job.id,
      error: err instanceof Error ? err.message : String(err),
      partitions: [],
      counts: [],
    };
  }
}

/** Runs a worker until the coordinator says Shutdown; resolves with how many jobs it did. */
export async function runWorker(options: WorkerOptions): Promise<number> {
  const client =
    options.transport === "h2"
      ? connect(options.target)
      : new JobServiceClient(options.target, credentials.createInsecure(), streamingClientOptions);
  const { tx, rx, status } =
    client instanceof JobServiceClient
      ? bidiCall((md, opts) => client.connect(md, opts))
      : client.bidiCall(JobServiceService.connect);
  let done = 0;
  try {
    await tx.send({ hello: { workerId: options.id, capacity: options.capacity ?? 2 } });
    let toFail = options.failFirst ?? 0;
    for await (const msg of rx) {
      if (msg.job) {
        const reply =
          toFail-- > 0
            ? { id: msg.job.id, error: "injected failure", partitions: [], counts: [] }
            : await work(msg.job, options.delayMs ?? 0);
        await tx.send({ jobReply: reply });
        done++;
      } else if (msg.shutdown) {
        await tx.send({ shutdownReply: { workerId: options.id, jobsDone: done } });
        tx.close(); // half-close: the coordinator ends the call
      }
    }
    await status;
    return done;
  } finally {
    client.close();
  }
}

const usage = `usage: worker.ts --target HOST:PORT [--id TEXT] [--capacity N] [--delay-ms N] [--fail-first N]
                 [--transport grpc-js|h2]
  --target      the coordinator (required)
  --id          this worker's id, unique among the coordinator's workers (default worker-<pid>)
  --capacity    jobs the coordinator may give it at once (default 2)
  --delay-ms    artificial time per job (default 0)
  --fail-first  answer the first N jobs with an error (default 0)
${transportOption.usage}`;

/** A worker's command-line flags. */
export const workerFlags = {
  target: { type: "string", check: checkTarget },
  id: { type: "string", default: `worker-${process.pid}`, check: checkNotEmpty },
  capacity: { type: "integer", default: 2, min: 1, max: 1024 },
  "delay-ms": { type: "integer", default: 0, min: 0, max: 600_000 },
  "fail-first": { type: "integer", default: 0, min: 0, max: 1_000_000_000 },
  transport: transportOption.flag,
} satisfies FlagSpecs;

async function main(): Promise<number> {
  const flags = parseFlags(workerFlags, process.argv.slice(2));
  await runWorker({
    target: flags.target,
    id: flags.id,
    capacity: flags.capacity,
    delayMs: flags["delay-ms"],
    failFirst: flags["fail-first"],
    transport: transportOption.of(flags.transport),
  });
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCli("worker", usage, main);
}
