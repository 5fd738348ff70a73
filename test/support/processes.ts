/**
 * Child processes of the tests (the example binaries, Python peers): stdout collected as lines, every
 * wait bounded in time, and every child killed by {@link killChildren} (call it in `afterEach`).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running (or ended) child process. */
export interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  /** Its stdout so far, a line each (without the newline). */
  readonly lines: readonly string[];
  /** Its stderr so far. */
  readonly stderr: string;
  /** The first stdout line matching `pattern`, waiting for it up to `ms`; rejects if the child exits first. */
  line(pattern: RegExp, ms: number): Promise<RegExpExecArray>;
  /** Its exit, waiting up to `ms`; rejects (and kills it) after that. */
  exit(ms: number): Promise<Exit>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Starts `command args` with pipes on every stream; stdin is closed unless `keepStdin`. */
export function spawnChild(
  command: string,
  args: string[],
  options: { cwd?: string; keepStdin?: boolean } = {},
): Child {
  const child = spawn(command, args, { cwd: options.cwd ?? ROOT });
  running.add(child);
  if (!options.keepStdin) child.stdin.end();
  const lines: string[] = [];
  let partial = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
    wake();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  let ended = false;
  const exited = new Promise<Exit>((resolve) => {
    // 'close' comes after the last stdout data, so every line is in by then.
    child.once("close", (code, signal) => {
      running.delete(child);
      if (partial !== "") lines.push(partial);
      partial = "";
      ended = true;
      resolve({ code, signal });
      wake();
    });
  });

  /** Resolves with `check()`'s first defined value, re-checked on every line; bounded by `ms`. */
  const until = <T>(check: () => T | undefined, ms: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(poll);
        reject(
          new Error(
            `${what} did not happen within ${ms} ms; stdout:\n${lines.join("\n")}\nstderr:\n${stderr}`,
          ),
        );
      }, ms);
      const poll = (): void => {
        const found = check();
        if (found === undefined && !ended) return;
        clearTimeout(timer);
        waiters.delete(poll);
        if (found !== undefined) resolve(found);
        else
          reject(
            new Error(`${what}: the process exited first; stdout:\n${lines.join("\n")}\nstderr:\n${stderr}`),
          );
      };
      waiters.add(poll);
      poll();
    });

  return {
    process: child,
    lines,
    get stderr() {
      return stderr;
    },
    line: (pattern, ms) => {
      const match = (): RegExpExecArray | undefined => {
        for (const l of lines) {
          const m = pattern.exec(l);
          if (m) return m;
        }
        return undefined;
      };
      return until(match, ms, `a line matching ${pattern}`);
    },
    exit: async (ms) => {
      try {
        return await until(() => (ended ? true : undefined), ms, "the exit").then(() => exited);
      } catch (err) {
        child.kill("SIGKILL");
        throw err;
      }
    },
  };
}

/** Runs `node --import tsx <script> args` from the repository's root (an example binary). */
export function spawnTsx(script: string, args: string[] = []): Child {
  return spawnChild(process.execPath, ["--import", "tsx", script, ...args]);
}

/** Kills every child still running and waits for them to be gone. */
export async function killChildren(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once("close", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}
