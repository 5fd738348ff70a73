/**
 * A word count over a folder of text files by a coordinator and worker processes on loopback, each
 * worker connected over one bidi stream. Progress goes to stderr; the top words and totals to stdout.
 * Exit code 1 on a missing or unreadable input, or when the run fails; 2 for a bad flag.
 *
 * Run: `npm run example:jobs -- --workers 4 --input examples/jobs/sample` (or
 * `npx tsx examples/jobs/main.ts --workers 4`); `--help` lists the flags.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checkNotEmpty, type FlagSpecs, parseFlags, plural, runCli, transportOption } from "../cli.js";
import { startCoordinator } from "./coordinator.js";
import { readChunks } from "./wordcount.js";

const here = fileURLToPath(new URL(".", import.meta.url));

const usage = `usage: main.ts [--workers N] [--input DIR] [--top N] [--chunk-bytes N] [--delay-ms N]
               [--transport grpc-js|h2]
  --workers      worker processes (default 4)
  --input        folder of text files (default examples/jobs/sample)
  --top          how many of the most frequent words to print (default 10)
  --chunk-bytes  size of a map job's text, cut at line ends (default 16384, at most 1 MiB)
  --delay-ms     artificial time each job takes in a worker (default 0)
${transportOption.usage} (the coordinator's and the workers')`;

/** The job example's command-line flags. */
export const jobsFlags = {
  workers: { type: "integer", default: 4, min: 1, max: 64 },
  input: { type: "string", default: `${here}sample`, check: checkNotEmpty },
  top: { type: "integer", default: 10, min: 1, max: 1_000_000 },
  // A map job carries its chunk in one message: stay well under gRPC's 4 MiB message limit.
  "chunk-bytes": { type: "integer", default: 16384, min: 1, max: 1024 * 1024 },
  "delay-ms": { type: "integer", default: 0, min: 0, max: 600_000 },
  transport: transportOption.flag,
} satisfies FlagSpecs;

async function main(): Promise<number> {
  const flags = parseFlags(jobsFlags, process.argv.slice(2));
  const workerCount = flags.workers;
  const chunks = await readChunks(flags.input, flags["chunk-bytes"]);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const transport = transportOption.of(flags.transport);
  const coordinator = await startCoordinator({ chunks, log, waitForWorkers: workerCount, transport });
  const children: ChildProcess[] = [];
  for (let i = 1; i <= workerCount; i++) {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        `${here}worker.ts`,
        "--target",
        `127.0.0.1:${coordinator.port}`,
        "--id",
        `w${i}`,
        "--delay-ms",
        String(flags["delay-ms"]),
        "--transport",
        transport,
      ],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    children.push(child);
  }
  try {
    const result = await coordinator.result;
    const exits = await Promise.all(
      children.map(async (c) => (c.exitCode ?? (await once(c, "exit"))[0]) as number),
    );
    const top = [...result.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, flags.top);
    const total = [...result.counts.values()].reduce((a, b) => a + b, 0);
    console.log(`top ${plural(top.length, "word")}:`);
    for (const [word, count] of top) console.log(`  ${String(count).padStart(8)}  ${word}`);
    console.log(
      `${plural(total, "word")}, ${result.counts.size} distinct, ${plural(chunks.length, "chunk")}, ${plural(result.jobs, "job")}`,
    );
    const did = [...result.shutdownReplies].map(([id, n]) =>
      n < 0 ? `${id} did not answer Shutdown` : `${id} did ${plural(n, "job")}`,
    );
    console.log(
      `workers: ${did.join(", ")}; exit ${exits.length === 1 ? "code" : "codes"} ${exits.join(", ")}`,
    );
    return exits.every((code) => code === 0) ? 0 : 1;
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCli("jobs", usage, main);
}
