/**
 * `npm run example:jobs -- --workers 4 --input <dir>`: a word count over a folder of text files by a
 * coordinator and worker processes on loopback, each worker connected over one bidi stream.
 * Progress goes to stderr; the top words and totals to stdout. Exit code 1 on a missing or
 * unreadable input, or when the run fails.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startCoordinator } from "./coordinator.js";
import { readChunks } from "./wordcount.js";

const here = fileURLToPath(new URL(".", import.meta.url));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      workers: { type: "string", default: "4" },
      input: { type: "string", default: `${here}sample` },
      top: { type: "string", default: "10" },
      "chunk-bytes": { type: "string", default: "16384" },
      "delay-ms": { type: "string", default: "0" },
    },
  });
  const workerCount = Number(values.workers);
  if (!Number.isInteger(workerCount) || workerCount < 1)
    throw new RangeError(`--workers must be an integer >= 1`);
  const chunks = await readChunks(values.input, Number(values["chunk-bytes"]));
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const coordinator = await startCoordinator({ chunks, log, waitForWorkers: workerCount });
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
        values["delay-ms"],
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
    const top = [...result.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, Number(values.top));
    const total = [...result.counts.values()].reduce((a, b) => a + b, 0);
    console.log(`top ${top.length} words:`);
    for (const [word, count] of top) console.log(`  ${String(count).padStart(8)}  ${word}`);
    console.log(
      `${total} words, ${result.counts.size} distinct, ${chunks.length} chunks, ${result.jobs} jobs`,
    );
    console.log(
      `workers: ${[...result.shutdownReplies].map(([id, n]) => `${id} did ${n} jobs`).join(", ")}; exit codes ${exits.join(", ")}`,
    );
    return exits.every((code) => code === 0) ? 0 : 1;
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`jobs: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
