/**
 * Peak RSS of a client writing to a server that reads slowly: each repetition is a fresh process
 * (bench/cases/slow-reader-process.ts), as a peak cannot be measured twice in one.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { NODE_ARGS, root, STEP_TIMEOUT_MS } from "../pool.js";

/** The implementations, by the process's mode argument. */
export const slowReaderModes: Record<string, string> = {
  "raw grpc-js ignoring write()": "naive",
  "grpc-mpsc": "grpc-mpsc",
};

/** Runs one slow-reader process of `impl` writing `n` 1 KiB messages; returns its peak RSS above its baseline, in MiB. */
export async function slowReaderPeak(impl: string, n: number): Promise<number> {
  const mode = slowReaderModes[impl];
  if (mode === undefined) throw new Error(`slow reader: no mode for ${impl}`);
  const script = fileURLToPath(new URL("./slow-reader-process.ts", import.meta.url));
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [...NODE_ARGS, script, mode, String(n)],
      { cwd: root, timeout: STEP_TIMEOUT_MS, maxBuffer: 1 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`slow reader ${mode}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
  return (JSON.parse(out.trim().split("\n").pop() ?? "{}") as { peakMiB: number }).peakMiB;
}
