/**
 * The coordinator: a gRPC server whose workers connect once and stay connected. Each worker's
 * stream is a `Receiver` of its messages and a `Sender` of jobs (`serveBidi`); replies are matched
 * to jobs by id; a p-queue per worker bounds its jobs in flight to the capacity it announced.
 *
 * Failure handling: a worker that disconnects or dies has its jobs in flight handed to others; a job
 * that fails is retried up to `maxAttempts` times, then the run fails with a clear message; when no
 * worker is left for `graceMs`, the run fails instead of hanging. At the end every worker is sent
 * Shutdown and answers ShutdownReply before the server stops.
 *
 * Not a program of its own: `npm run example:jobs` (examples/jobs/main.ts) starts it and its workers.
 */
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import type { Receiver, Sender } from "grpc-mpsc";
import { GrpcError, serveBidi } from "grpc-mpsc/grpc";
import { createServer } from "grpc-mpsc/h2";
import PQueue from "p-queue";
import { plural, type Transport } from "../cli.js";
import {
  type Job,
  type JobMessage,
  type JobReply,
  type JobServiceServer,
  JobServiceService,
  type WordCount,
} from "../generated/jobs.js";
import type { Chunk } from "./wordcount.js";

/** Options of {@link startCoordinator}. */
export interface CoordinatorOptions {
  /** The map tasks' input. */
  chunks: Chunk[];
  /** Reduce partitions (default 4). */
  partitions?: number;
  /** Attempts per job before the run fails (default 3). */
  maxAttempts?: number;
  /** How long the run waits with work left and no worker connected (default 10 s). */
  graceMs?: number;
  /** Hand out no job before this many workers have connected (default 1). */
  waitForWorkers?: number;
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** The gRPC transport: grpc-js with the adapters (default), or `grpc-mpsc/h2`. */
  transport?: Transport;
}

/** The outcome of a run. */
export interface RunResult {
  counts: Map<string, number>;
  jobs: number;
  retries: number;
  reassigned: number;
  /** Worker id -> jobs it reported done at shutdown (-1: it did not answer Shutdown within 5 s). */
  shutdownReplies: Map<string, number>;
}

/** A running coordinator. */
export interface Coordinator {
  readonly port: number;
  /** Resolves when the run finished and every worker answered Shutdown; rejects when the run fails. */
  readonly result: Promise<RunResult>;
}

interface WorkerConn {
  id: string;
  capacity: number;
  jobs: Sender<JobMessage>;
  queue: PQueue;
  inFlight: Map<number, { resolve: (reply: JobReply) => void; reject: (err: Error) => void }>;
  shutdownReply?: (jobsDone: number) => void;
}

/** Starts the coordinator and its run. */
export async function startCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const partitions = options.partitions ?? 4;
  const maxAttempts = options.maxAttempts ?? 3;
  const graceMs = options.graceMs ?? 10_000;
  const log = options.log ?? (() => {});
  const workers = new Map<string, WorkerConn>();
  const pending: Job[] = [];
  let nextId = 1;
  let retries = 0;
  let reassigned = 0;
  let outstanding = 0; // jobs of the current phase not yet done
  let phase: "map" | "reduce" | "done" = "map";
  const gathered = Array.from({ length: partitions }, () => [] as WordCount[]);
  const counts = new Map<string, number>();
  let settle: { resolve: (r: RunResult) => void; reject: (e: Error) => void } | undefined;
  const result = new Promise<RunResult>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => {});
  let failed = false;
  let noWorkersTimer: NodeJS.Timeout | undefined;
  let connected = 0;
  const waitForWorkers = options.waitForWorkers ?? 1;

  let server: { forceShutdown(): void } | undefined;
  let stopServer: () => Promise<void> = async () => {};

  const fail = (err: Error): void => {
    if (failed || phase === "done") return;
    failed = true;
    clearTimeout(noWorkersTimer);
    log(`coordinator: run failed: ${err.message}`);
    server?.forceShutdown(); // the workers' streams end; they exit with an error
    settle?.reject(err);
  };

  const watchWorkers = (): void => {
    clearTimeout(noWorkersTimer);
    if (workers.size > 0 || phase === "done" || failed) return;
    noWorkersTimer = setTimeout(
      () =>
        fail(new Error(`all workers are gone, ${plural(pending.length + outstanding, "job")} left undone`)),
      graceMs,
    );
  };

  const enqueue = (job: Job): void => {
    pending.push(job);
    pump();
  };

  /** Hands pending jobs to the least loaded workers that have a free slot. */
  const pump = (): void => {
    if (connected < waitForWorkers) return;
    while (pending.length > 0 && !failed) {
      let best: WorkerConn | undefined;
      for (const w of workers.values()) {
        const load = w.queue.pending + w.queue.size;
        if (load < w.capacity && (best === undefined || load < best.queue.pending + best.queue.size))
          best = w;
      }
      if (best === undefined) return;
      const job = pending.shift() as Job;
      const worker = best;
      // When the job is done its slot is free: look for more work (after p-queue has counted it free).
      void worker.queue.add(() => execute(worker, job)).finally(() => setImmediate(pump));
    }
  };

  const execute = async (worker: WorkerConn, job: Job): Promise<void> => {
    let reply: JobReply;
    try {
      reply = await new Promise<JobReply>((resolve, reject) => {
        worker.inFlight.set(job.id, { resolve, reject });
        worker.jobs.send({ job }).catch(reject);
      });
    } catch {
      worker.inFlight.delete(job.id);
      reassigned++;
      log(`coordinator: worker ${worker.id} is gone, job ${job.id} goes to another worker`);
      enqueue(job);
      return;
    }
    if (reply.error !== "") {
      if (job.attempt + 1 >= maxAttempts) {
        fail(new Error(`job ${job.id} failed ${plural(maxAttempts, "time")}, last error: ${reply.error}`));
        return;
      }
      retries++;
      log(`coordinator: job ${job.id} failed (${reply.error}), retrying`);
      enqueue({ ...job, attempt: job.attempt + 1 });
      return;
    }
    complete(job, reply);
  };

  const complete = (job: Job, reply: JobReply): void => {
    if (job.map) for (const p of reply.partitions) gathered[p.index]?.push(...p.counts);
    else for (const { word, count } of reply.counts) counts.set(word, count);
    outstanding--;
    if (outstanding > 0) return;
    if (phase === "map") {
      phase = "reduce";
      log(`coordinator: map phase done, ${plural(partitions, "reduce job")}`);
      outstanding = partitions;
      gathered.forEach((c, partition) => {
        enqueue({ id: nextId++, attempt: 0, reduce: { partition, counts: c } });
      });
    } else if (phase === "reduce") {
      phase = "done";
      void finish();
    }
  };

  const finish = async (): Promise<void> => {
    clearTimeout(noWorkersTimer);
    log(`coordinator: done after ${plural(nextId - 1, "job")}, shutting the workers down`);
    const shutdownReplies = new Map<string, number>();
    await Promise.all(
      [...workers.values()].map(async (w) => {
        const replied = new Promise<number>((resolve) => (w.shutdownReply = resolve));
        await w.jobs.send({ shutdown: { reason: "run complete" } }).catch(() => {});
        const jobsDone = await Promise.race([
          replied,
          new Promise<number>((r) => setTimeout(() => r(-1), 5000)),
        ]);
        shutdownReplies.set(w.id, jobsDone);
      }),
    );
    await stopServer();
    settle?.resolve({ counts, jobs: nextId - 1, retries, reassigned, shutdownReplies });
  };

  const connect = async (
    requests: Receiver<JobMessage>,
    responses: Sender<JobMessage>,
    ctx: { readonly peer: string },
  ): Promise<void> => {
    const first = await requests.recv();
    const hello = first?.hello;
    if (!hello || hello.workerId === "" || workers.has(hello.workerId)) {
      throw new GrpcError(status.INVALID_ARGUMENT, "the first message must be a Hello with a new worker id");
    }
    const worker: WorkerConn = {
      id: hello.workerId,
      capacity: Math.max(1, hello.capacity),
      jobs: responses,
      queue: new PQueue({ concurrency: Math.max(1, hello.capacity) }),
      inFlight: new Map(),
    };
    workers.set(worker.id, worker);
    connected++;
    log(`coordinator: worker ${worker.id} connected from ${ctx.peer} (capacity ${worker.capacity})`);
    watchWorkers();
    pump();
    try {
      for await (const msg of requests) {
        if (msg.jobReply) {
          const waiting = worker.inFlight.get(msg.jobReply.id);
          worker.inFlight.delete(msg.jobReply.id);
          waiting?.resolve(msg.jobReply);
        } else if (msg.shutdownReply) {
          worker.shutdownReply?.(msg.shutdownReply.jobsDone);
        }
      }
    } finally {
      workers.delete(worker.id);
      responses.close();
      for (const { reject } of worker.inFlight.values())
        reject(new Error(`worker ${worker.id} disconnected`));
      if (phase !== "done") log(`coordinator: worker ${worker.id} disconnected`);
      watchWorkers();
    }
  };
  let port: number;
  if (options.transport === "h2") {
    // A handler's error is the worker's status (INVALID_ARGUMENT above): nothing more to log.
    const h2 = createServer({ responseCapacity: 2, onError: () => {} }).addService(JobServiceService, {
      connect,
    });
    server = h2;
    // GOAWAY, 2 s for the calls, then the rest end UNAVAILABLE: grpc-js's tryShutdown, then forceShutdown.
    stopServer = () => h2.shutdown(2000);
    port = await h2.listen(options.port ?? 0);
  } else {
    const js = new Server();
    server = js;
    stopServer = () =>
      new Promise((resolve) => {
        const force = setTimeout(() => {
          js.forceShutdown();
          resolve();
        }, 2000);
        js.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    js.addService(JobServiceService, {
      connect: serveBidi(connect, { responseCapacity: 2, onError: () => {} }),
    } satisfies JobServiceServer);
    port = await new Promise<number>((resolve, reject) =>
      js.bindAsync(`127.0.0.1:${options.port ?? 0}`, ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
  }
  outstanding = options.chunks.length;
  for (const c of options.chunks) {
    pending.push({ id: nextId++, attempt: 0, map: { source: c.source, text: c.text, partitions } });
  }
  log(`coordinator: listening on 127.0.0.1:${port}, ${plural(options.chunks.length, "map job")}`);
  watchWorkers();
  return { port, result };
}
