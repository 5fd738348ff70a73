/** Fixture programs (test/faults/fixtures) run as child processes: forked with tsx and IPC, all killed by `killAll()`. */
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const children: ChildProcess[] = [];

/** Forks `fixtures/<name>.ts` with `args`; IPC is on. */
export function spawnFixture(name: string, args: string[] = []): ChildProcess {
  const child = fork(fileURLToPath(new URL(`../faults/fixtures/${name}.ts`, import.meta.url)), args, {
    execArgv: ["--import", "tsx", "--expose-gc", "--unhandled-rejections=strict"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.push(child);
  return child;
}

/** The next IPC message of `child` (rejects if it exits first or after `ms`). */
export async function nextMessage<T>(child: ChildProcess, ms = 20_000): Promise<T> {
  const timeout = AbortSignal.timeout(ms);
  const [msg] = (await Promise.race([
    once(child, "message", { signal: timeout }),
    once(child, "exit", { signal: timeout }).then(() => {
      throw new Error("the child exited before answering");
    }),
  ])) as [T];
  return msg;
}

/** Server statistics reported by fixtures/server.ts. */
export interface ServerStats {
  rss: number;
  heapUsed: number;
  resources: Record<string, number>;
  live: number;
  unhandled: number;
}

/** Asks a fixtures/server.ts child for its statistics. */
export async function stats(child: ChildProcess): Promise<ServerStats> {
  const answer = nextMessage<ServerStats>(child);
  child.send("stats");
  return answer;
}

/** Kills every child still running and waits for them to exit. */
export async function killAll(): Promise<void> {
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }),
  );
}
