/**
 * The worker pool: one long-lived worker process (bench/worker.ts) per implementation, so that
 * implementations share no JIT state or heap, and the interleaved rounds that compare them.
 */
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import PQueue from "p-queue";
import type { Sample } from "./define.js";
import { NODE_ARGS, root, STEP_TIMEOUT_MS, WORKER_ENV } from "./process.js";
import type { FromWorker, Load, ToWorker } from "./protocol.js";

/** A forked bench/worker.ts running one implementation's cases. */
class Worker {
  readonly #child: ChildProcess;
  #waiting: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined;
  #exited: Error | undefined;
  #loaded: string | undefined;

  constructor(readonly impl: string) {
    this.#child = fork(fileURLToPath(new URL("./worker.ts", import.meta.url)), [], {
      cwd: root,
      env: WORKER_ENV,
      execArgv: NODE_ARGS,
      // The worker's stdout goes to our stderr: stdout is for the result tables.
      stdio: ["ignore", 2, "inherit", "ipc"],
    });
    this.#child.on("message", (m: FromWorker) => {
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.resolve(m);
    });
    this.#child.on("exit", (code, signal) => {
      this.#exited = new Error(`${impl}: worker exited (${code ?? signal})`);
      this.#waiting?.reject(this.#exited);
      this.#waiting = undefined;
    });
  }

  /** Sends `message` and waits for the worker's answer. */
  #ask(message: ToWorker): Promise<FromWorker> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise<FromWorker>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#child.kill();
        reject(new Error(`${this.impl} ${this.#loaded}: no answer in ${STEP_TIMEOUT_MS} ms`));
      }, STEP_TIMEOUT_MS);
      this.#waiting = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#child.send(message);
    });
  }

  /** Loads and warms up a case. */
  async load(load: Load): Promise<void> {
    this.#loaded = load.name;
    await this.#ask({ load });
  }

  /** One measured repetition of the loaded case. */
  async run(): Promise<Sample> {
    const m = await this.#ask("run");
    if (!("result" in m)) throw new Error(`${this.impl}: unexpected ${JSON.stringify(m)}`);
    return m.result;
  }

  /** Asks the worker to exit; kills it if it has not after 5 s. Resolves once it is gone. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, "exit");
    if (this.#child.connected) this.#child.send("exit");
    const timer = setTimeout(() => this.#child.kill(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** One worker per implementation, started on first use and reused by later configurations. */
export class Pool {
  readonly #workers = new Map<string, Worker>();

  #workerFor(impl: string): Worker {
    let w = this.#workers.get(impl);
    if (w === undefined) {
      w = new Worker(impl);
      this.#workers.set(impl, w);
    }
    return w;
  }

  /**
   * Runs the implementations of one configuration side by side: each warms up (all at once), then
   * `reps` rounds in which each runs one repetition, alone, in an order that rotates by one each
   * round. `onRound(r)` is called as round `r` (from 1; 0 is the warm-up) begins. Returns the samples
   * per implementation, in round order.
   */
  async compare(
    name: string,
    params: unknown,
    impls: readonly string[],
    reps: number,
    onRound?: (round: number) => void,
  ): Promise<Sample[][]> {
    const ws = impls.map((impl) => this.#workerFor(impl));
    onRound?.(0);
    await Promise.all(ws.map((w) => w.load({ name, impl: w.impl, params })));
    const results: Sample[][] = ws.map(() => []);
    for (let round = 0; round < reps; round++) {
      onRound?.(round + 1);
      for (let k = 0; k < ws.length; k++) {
        const i = (k + round) % ws.length;
        results[i]?.push(await (ws[i] as Worker).run());
      }
    }
    return results;
  }

  /** Asks every worker to exit (and kills any that has not after 5 s); resolves once all are gone. */
  async stop(): Promise<void> {
    await Promise.all([...this.#workers.values()].map((w) => w.stop()));
  }
}

/**
 * For a figure that does not depend on timing: `reps` repetitions of each implementation run in this
 * process (each spawns what it measures), `concurrency` at a time, repetition `r` of every
 * implementation before repetition `r + 1` of any. `onDone(k)` is called as the `k`-th ends. Returns
 * the samples per implementation, in the order they were started.
 */
export async function concurrently(
  measure: (impl: string) => Promise<Sample>,
  impls: readonly string[],
  reps: number,
  concurrency: number,
  onDone?: (done: number) => void,
): Promise<Sample[][]> {
  const queue = new PQueue({ concurrency });
  const results: Sample[][] = impls.map(() => []);
  let done = 0;
  const runs: Promise<void>[] = [];
  for (let r = 0; r < reps; r++) {
    impls.forEach((impl, i) => {
      runs.push(
        queue.add(async () => {
          const sample = await measure(impl);
          (results[i] as Sample[])[r] = sample;
          onDone?.(++done);
        }),
      );
    });
  }
  try {
    await Promise.all(runs);
  } catch (error) {
    queue.clear(); // start no more
    throw error;
  }
  return results;
}
