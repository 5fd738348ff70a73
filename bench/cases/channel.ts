/**
 * In-process channel benchmarks: N small messages from P producers to one consumer, through
 * grpc-mpsc and through what a user would pick instead. Every case checks that each message arrived
 * once and in order per producer, and throws otherwise (a benchmark that loses messages fails).
 */
import { PassThrough } from "node:stream";
import { CountQueuingStrategy, TransformStream } from "node:stream/web";
import { channel, type Sender } from "grpc-mpsc";
import { pushable } from "it-pushable";

/** Parameters of one channel case. */
export interface ChannelCaseArgs {
  n: number;
  producers: number;
  capacity: number;
  batch?: number;
}

/** Checks per-producer order: message `i` of producer `p` is encoded as `i * producers + p`. */
export class OrderCheck {
  readonly #next: number[];
  count = 0;

  constructor(readonly producers: number) {
    this.#next = new Array<number>(producers).fill(0);
  }

  see(v: number): void {
    const p = v % this.producers;
    const i = (v - p) / this.producers;
    if (this.#next[p] !== i) throw new Error(`producer ${p}: got message ${i}, expected ${this.#next[p]}`);
    this.#next[p] = i + 1;
    this.count++;
  }

  done(n: number): void {
    if (this.count !== n) throw new Error(`received ${this.count} of ${n} messages`);
  }
}

/** Splits n messages over the producers. */
function share(n: number, producers: number, p: number): number {
  return Math.floor(n / producers) + (p < n % producers ? 1 : 0);
}

/**
 * `producers` clones of `tx`, each sending its share of the n messages and closing. `eager` producers
 * `trySend` while the channel has room and await `send` only when it is full: the pattern of
 * PassThrough's `write()` return value, without a promise per message.
 */
async function produce(tx: Sender<number>, n: number, producers: number, eager = false): Promise<void> {
  const handles = [tx, ...Array.from({ length: producers - 1 }, () => tx.clone())];
  await Promise.all(
    handles.map(async (h, p) => {
      const count = share(n, producers, p);
      for (let i = 0; i < count; i++) {
        const v = i * producers + p;
        if (eager && h.capacity > 0) h.trySend(v);
        else await h.send(v);
      }
      h.close();
    }),
  );
}

async function grpcMpsc({ n, producers, capacity }: ChannelCaseArgs): Promise<void> {
  const [tx, rx] = channel<number>(capacity);
  const running = produce(tx, n, producers);
  const check = new OrderCheck(producers);
  for await (const v of rx) check.see(v);
  await running;
  check.done(n);
}

/** Batched at both ends: eager producers, a consumer that takes up to `batch` values per `recvMany`. */
async function grpcMpscBatched({ n, producers, capacity, batch = 256 }: ChannelCaseArgs): Promise<void> {
  const [tx, rx] = channel<number>(capacity);
  const running = produce(tx, n, producers, true);
  const check = new OrderCheck(producers);
  for (let values = await rx.recvMany(batch); values.length > 0; values = await rx.recvMany(batch)) {
    for (const v of values) check.see(v);
  }
  await running;
  check.done(n);
}

async function itPushable({ n, producers }: ChannelCaseArgs): Promise<void> {
  const source = pushable<number>({ objectMode: true });
  let open = producers;
  const running = Array.from({ length: producers }, async (_, p) => {
    const count = share(n, producers, p);
    for (let i = 0; i < count; i++) {
      source.push(i * producers + p); // no backpressure: push never waits
      if ((i & 1023) === 1023) await Promise.resolve();
    }
    if (--open === 0) source.end();
  });
  const check = new OrderCheck(producers);
  for await (const v of source) check.see(v);
  await Promise.all(running);
  check.done(n);
}

async function passThrough({ n, producers, capacity }: ChannelCaseArgs): Promise<void> {
  const stream = new PassThrough({ objectMode: true, highWaterMark: capacity });
  let open = producers;
  let drained: Promise<void> | undefined;
  const waitDrain = (): Promise<void> => {
    drained ??= new Promise<void>((resolve) =>
      stream.once("drain", () => {
        drained = undefined;
        resolve();
      }),
    );
    return drained;
  };
  const running = Array.from({ length: producers }, async (_, p) => {
    const count = share(n, producers, p);
    for (let i = 0; i < count; i++) {
      if (!stream.write(i * producers + p)) await waitDrain();
    }
    if (--open === 0) stream.end();
  });
  const check = new OrderCheck(producers);
  for await (const v of stream) check.see(v as number);
  await Promise.all(running);
  check.done(n);
}

async function readableStream({ n, producers, capacity }: ChannelCaseArgs): Promise<void> {
  const { readable, writable } = new TransformStream<number, number>(
    undefined,
    new CountQueuingStrategy({ highWaterMark: capacity }),
    new CountQueuingStrategy({ highWaterMark: capacity }),
  );
  const writer = writable.getWriter();
  let open = producers;
  const running = Array.from({ length: producers }, async (_, p) => {
    const count = share(n, producers, p);
    for (let i = 0; i < count; i++) {
      await writer.ready;
      void writer.write(i * producers + p);
    }
    if (--open === 0) await writer.close();
  });
  const check = new OrderCheck(producers);
  const reader = readable.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) check.see(r.value);
  await Promise.all(running);
  check.done(n);
}

/** The synchronous upper bound: push into an array, shift out when `capacity` are queued. */
async function arrayLoop({ n, producers, capacity }: ChannelCaseArgs): Promise<void> {
  const queue: number[] = [];
  const check = new OrderCheck(producers);
  const counts = Array.from({ length: producers }, (_, p) => share(n, producers, p));
  for (let i = 0, sent = 0; sent < n; i++) {
    for (let p = 0; p < producers; p++) {
      if (i < (counts[p] ?? 0)) {
        queue.push(i * producers + p);
        sent++;
        if (queue.length >= capacity) while (queue.length > 0) check.see(queue.shift() as number);
      }
    }
  }
  while (queue.length > 0) check.see(queue.shift() as number);
  check.done(n);
}

/** The channel cases by name. */
export const channelCases: Record<string, (args: ChannelCaseArgs) => Promise<void>> = {
  "grpc-mpsc": grpcMpsc,
  "grpc-mpsc batched": grpcMpscBatched,
  "it-pushable": itPushable,
  PassThrough: passThrough,
  ReadableStream: readableStream,
  "array loop": arrayLoop,
};

/** A channel configuration as the runner gives it: the case, and how long to warm it up. */
export interface ChannelParams extends ChannelCaseArgs {
  /** Messages per warm-up run. */
  warmup: number;
  /** CPU time to spend on warm-up runs before the first repetition. */
  warmupCpuMs: number;
}

const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;

/** One repetition of a channel case (messages per second), or with `warm` its warm-up. */
export async function measureChannel(impl: string, params: ChannelParams, warm: boolean): Promise<number> {
  const run = channelCases[impl];
  if (!run) throw new Error(`unknown channel case ${impl}`);
  if (warm) {
    // Runs of `warmup` messages until this process has spent `warmupCpuMs` of CPU on them: a fixed
    // count is not enough, 8 producers parked on a full channel still ran at half speed for their
    // first 4 million messages.
    const c0 = process.cpuUsage();
    do await run({ ...params, n: params.warmup });
    while (cpuMs(process.cpuUsage(c0)) < params.warmupCpuMs);
    return 0;
  }
  const t0 = performance.now();
  await run(params);
  return params.n / ((performance.now() - t0) / 1000);
}
