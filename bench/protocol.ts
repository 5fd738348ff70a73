/**
 * The messages between the runner's pool (bench/pool.ts) and a worker (bench/worker.ts) over IPC. A
 * leaf, so that the pool does not import the worker, which imports the registry.
 */
import type { Sample } from "./define.js";

/** A case of the registry, the implementation to run, and one configuration's parameters. */
export interface Load {
  name: string;
  impl: string;
  params: unknown;
}

/** What the runner asks a worker: load (and warm up) a case, run one repetition, exit. */
export type ToWorker = { load: Load } | "run" | "exit";
/** What a worker answers: loaded and warm, or one repetition's sample. */
export type FromWorker = { ready: true } | { result: Sample };
