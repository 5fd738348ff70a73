/**
 * How the benchmark starts Node processes: the flags and environment every worker and every
 * fresh-process case share, and {@link runProcess} for the cases that need a process per repetition.
 * A leaf (it imports only Node built-ins), so that the registry and the cases can use it without
 * importing the worker pool, which imports the worker, which imports the registry.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root: workers run there, as `npm run bench` does. */
export const root = fileURLToPath(new URL("..", import.meta.url));
/** Node flags of every worker: `gc()` before each repetition, TypeScript through tsx. */
export const NODE_ARGS = ["--expose-gc", "--import", "tsx"];

/**
 * The environment of every worker. With `BENCH_PACKAGE=dist` (as `npm run bench` sets it, after a
 * build) the cases' `grpc-mpsc` imports resolve to the built package, as its users get it, through
 * bench/tsconfig.json (no `paths`): the sources through tsx measure tsx too (its keepNames gives each
 * class-field closure a property of its own, about 3 KiB per gRPC stream). Otherwise (the tests) they
 * resolve to the sources.
 */
export const WORKER_ENV: NodeJS.ProcessEnv =
  process.env.BENCH_PACKAGE === "dist"
    ? { ...process.env, TSX_TSCONFIG_PATH: fileURLToPath(new URL("./tsconfig.json", import.meta.url)) }
    : process.env;
/** No single step (a warm-up or one repetition) may take longer than this. */
export const STEP_TIMEOUT_MS = 5 * 60_000;

/**
 * Runs `script` (a path from the repository root) in a fresh Node process with the workers' flags and
 * `args`, killed after `timeoutMs`; returns the JSON of the last line it printed.
 */
export async function runProcess(
  script: string,
  args: readonly string[],
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<unknown> {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [...NODE_ARGS, script, ...args],
      { cwd: root, env: WORKER_ENV, timeout: timeoutMs, maxBuffer: 1 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${script} ${args.join(" ")}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
  return JSON.parse(out.trim().split("\n").pop() ?? "null");
}
