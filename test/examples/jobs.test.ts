import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { startCoordinator } from "../../examples/jobs/coordinator.js";
import { countDirectly, readChunks } from "../../examples/jobs/wordcount.js";
import { within } from "../support/async.js";
import { killChildren, spawnTsx } from "../support/processes.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const sample = join(root, "examples/jobs/sample");
const children: ChildProcess[] = [];
const temps: string[] = [];

afterAll(async () => {
  await killChildren();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** Starts a worker process; resolves its exit code when it ends. */
function worker(
  port: number,
  id: string,
  delayMs = 0,
  failFirst = 0,
): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "examples/jobs/worker.ts",
      "--target",
      `127.0.0.1:${port}`,
      "--id",
      id,
      "--delay-ms",
      String(delayMs),
      "--fail-first",
      String(failFirst),
    ],
    { cwd: root, stdio: ["ignore", "ignore", "pipe"] },
  );
  children.push(child);
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited };
}

/** Whether a process with this pid still exists. */
function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A few MB of generated text in a temporary folder. */
function generatedCorpus(bytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), "jobs-corpus-"));
  temps.push(dir);
  const vocabulary = Array.from({ length: 500 }, (_, i) => `w${(i * 7919) % 1000}${"abcdefghij"[i % 10]}`);
  let seed = 42;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let f = 0; f < 4; f++) {
    const lines: string[] = [];
    let size = 0;
    while (size < bytes / 4) {
      const line = Array.from({ length: 12 }, () => vocabulary[next() % vocabulary.length]).join(" ");
      lines.push(line);
      size += line.length + 1;
    }
    writeFileSync(join(dir, `part-${f}.txt`), `${lines.join("\n")}\n`);
  }
  return dir;
}

describe("the job coordinator example", () => {
  it("the distributed word count of the sample equals a direct count, and the shutdown handshake ends every worker with 0", async () => {
    const chunks = await readChunks(sample, 2000);
    const coordinator = await startCoordinator({ chunks, waitForWorkers: 2 });
    const workers = [worker(coordinator.port, "a"), worker(coordinator.port, "b")];
    const result = await within(coordinator.result, 30_000, "the run");
    expect(result.counts).toEqual(countDirectly(chunks));
    expect([...result.shutdownReplies.keys()].sort()).toEqual(["a", "b"]);
    const codes = await within(Promise.all(workers.map((w) => w.exited)), 10_000, "the workers' exit");
    expect(codes).toEqual([0, 0]);
    for (const w of workers) expect(alive(w.child.pid)).toBe(false);
    const jobsDone = [...result.shutdownReplies.values()].reduce((a, b) => a + b, 0);
    expect(jobsDone).toBe(result.jobs);
  }, 60_000);

  it("several MB of generated text: the result equals a direct count", async () => {
    const chunks = await readChunks(generatedCorpus(3 * 2 ** 20), 128 * 1024);
    const coordinator = await startCoordinator({ chunks, partitions: 8, waitForWorkers: 3 });
    const workers = ["a", "b", "c"].map((id) => worker(coordinator.port, id));
    const result = await within(coordinator.result, 60_000, "the run");
    expect(result.counts).toEqual(countDirectly(chunks));
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
  }, 90_000);

  it("a worker killed with SIGKILL mid-run: its jobs go to the others and the result is still exact", async () => {
    const chunks = await readChunks(sample, 800);
    let connected = 0;
    let started: () => void = () => {};
    const allConnected = new Promise<void>((resolve) => (started = resolve));
    const coordinator = await startCoordinator({
      chunks,
      waitForWorkers: 3,
      log: (line) => {
        if (/worker \w connected/.test(line) && ++connected === 3) started();
      },
    });
    // 27 map jobs of 300 ms on 3 workers holding 2 each: the map phase takes about 1.4 s from the
    // moment the third worker connects (work starts then); 450 ms in, each worker holds 2 jobs.
    const [victim, ...others] = ["a", "b", "c"].map((id) => worker(coordinator.port, id, 300));
    await within(allConnected, 20_000, "the workers");
    await new Promise((r) => setTimeout(r, 450));
    victim?.child.kill("SIGKILL");
    const result = await within(coordinator.result, 60_000, "the run");
    expect(result.counts).toEqual(countDirectly(chunks));
    expect(result.reassigned).toBeGreaterThanOrEqual(1);
    expect(result.shutdownReplies.has("a")).toBe(false);
    expect(await Promise.all(others.map((w) => w.exited))).toEqual([0, 0]);
  }, 90_000);

  it("a job that errors is retried, and the result is still exact", async () => {
    const chunks = await readChunks(sample, 2000);
    const coordinator = await startCoordinator({ chunks, waitForWorkers: 1 });
    const w = worker(coordinator.port, "flaky", 0, 2);
    const result = await within(coordinator.result, 30_000, "the run");
    expect(result.retries).toBe(2);
    expect(result.counts).toEqual(countDirectly(chunks));
    expect(await w.exited).toBe(0);
  }, 60_000);

  it("a job that keeps failing fails the run after 3 attempts with a clear message", async () => {
    const chunks = await readChunks(sample, 2000);
    const coordinator = await startCoordinator({ chunks, waitForWorkers: 1, maxAttempts: 3 });
    worker(coordinator.port, "broken", 0, 1_000_000);
    await expect(within(coordinator.result, 30_000, "the run")).rejects.toThrow(
      /job \d+ failed 3 times, last error: injected failure/,
    );
  }, 60_000);

  it("all workers gone: the coordinator reports it and fails instead of hanging", async () => {
    const chunks = await readChunks(sample, 800);
    const coordinator = await startCoordinator({ chunks, waitForWorkers: 2, graceMs: 1000 });
    const workers = [worker(coordinator.port, "a", 200), worker(coordinator.port, "b", 200)];
    await new Promise((r) => setTimeout(r, 1500));
    for (const w of workers) w.child.kill("SIGKILL");
    await expect(within(coordinator.result, 10_000, "the run")).rejects.toThrow(/all workers are gone/);
  }, 30_000);

  it.each(["grpc-js", "h2"])(
    "the CLI prints the top words and a summary in plain English (--transport %s)",
    async (transport) => {
      const run = spawnTsx("examples/jobs/main.ts", [
        "--workers",
        "1",
        "--top",
        "1",
        "--transport",
        transport,
      ]);
      expect(await run.exit(60_000)).toEqual({ code: 0, signal: null });
      const total = [...countDirectly(await readChunks(sample, 16384)).values()].reduce((a, b) => a + b, 0);
      expect(run.lines).toEqual([
        "top 1 word:",
        expect.stringMatching(/^ +\d+ {2}\S+$/),
        expect.stringMatching(new RegExp(`^${total} words, \\d+ distinct, 3 chunks, 7 jobs$`)),
        "workers: w1 did 7 jobs; exit code 0",
      ]);
    },
    90_000,
  );

  it("the CLI gives a clear error and exit code 1 for a missing input", async () => {
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "examples/jobs/main.ts", "--input", join(root, "no-such-folder")],
        { cwd: root, timeout: 20_000 },
        (err, _out, errOut) => resolve({ code: err ? Number(err.code) : 0, stderr: errOut }),
      );
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/cannot read input folder .*no-such-folder/);
  });
});
