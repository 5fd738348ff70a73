/**
 * A real Redis for the tests and the benchmark: Debian's `redis-server`, started on a free loopback
 * port in its own temporary folder, with no persistence (`--save "" --appendonly no`), so that a
 * restart loses the stream as a crashed cache would. No test framework here (the benchmark imports
 * it); test/support/redis.ts adds the suites' skip.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Child, spawnChild } from "./processes.js";

/** The server binary: Debian's, or the one `GRPC_MPSC_TEST_REDIS` names. */
export const REDIS_SERVER = process.env.GRPC_MPSC_TEST_REDIS || "redis-server";

/** The one-line install of the package on Debian and Ubuntu. */
export const INSTALL_REDIS = "apt-get install -y redis-server";

let cached: boolean | undefined;

/** Whether {@link REDIS_SERVER} runs (asked once per test file). */
export function hasRedis(): boolean {
  cached ??= spawnSync(REDIS_SERVER, ["--version"], { stdio: "ignore", timeout: 10_000 }).status === 0;
  return cached;
}

/** A free TCP port on 127.0.0.1 (the kernel's pick, released for the caller to bind). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A running redis-server; `restart()` kills it and starts a new one on the same port (empty). */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILLs it: the stream is gone (no persistence). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Kills it and removes its folder. */
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port in a temporary folder, and waits until it accepts. */
export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "grpc-mpsc-redis-"));
  const port = await freePort();
  let child: Child | undefined;
  const start = async (): Promise<void> => {
    child = spawnChild(
      REDIS_SERVER,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { cwd: dir },
    );
    await child.line(/Ready to accept connections/, 10_000);
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.process.exitCode !== null || c.process.signalCode !== null) return;
    c.process.kill("SIGKILL");
    await c.exit(5000).catch(() => undefined);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
