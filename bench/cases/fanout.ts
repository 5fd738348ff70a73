/**
 * In-process fan-out benchmarks: one publisher, R receivers, n messages each delivered to every
 * receiver. The rate is messages published per second (each reaching all R receivers). Every receiver
 * checks that it got every message once and in order, and a case throws otherwise (a lagging
 * broadcast receiver counts as a failure here: the publisher is paced so that none lags).
 *
 * - `broadcast`: `tx.send(v)` (never waits), receivers `for await (const v of rx)`.
 * - `broadcast tryRecv`: the same channel, receivers drain with `tryRecv()` and await `recv()` only
 *   when there is nothing (the pattern of the channel's batched case).
 * - `EventEmitter`: `emit(v)` calling R listeners synchronously: the upper bound, with no buffer at all,
 *   hence nothing that could let a listener fall behind without blocking the publisher.
 * - `channel per receiver`: R bounded channels, the publisher sending to each (`trySend` while there is
 *   room, `await send` when full): what one builds without broadcast, R copies of every buffer.
 */
import { EventEmitter } from "node:events";
import { type BroadcastReceiver, broadcast, channel, Lagged, type Receiver } from "grpc-mpsc";
import { OrderCheck } from "./channel.js";

/** Parameters of one fan-out case. */
export interface FanoutCaseArgs {
  /** Messages published. */
  n: number;
  receivers: number;
  /** Of the broadcast, and of each channel of `channel per receiver`. */
  capacity: number;
}

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Messages a paced publisher sends before it checks how far behind the receivers are. */
const BATCH = 64;

/** Publishes 0..n-1, never more than `capacity` ahead of the slowest receiver (so none lags). */
async function publish(
  n: number,
  capacity: number,
  send: (v: number) => void,
  behind: () => number,
): Promise<void> {
  const batch = Math.min(BATCH, capacity);
  for (let i = 0; i < n; ) {
    while (behind() > capacity - batch) await immediate();
    const end = Math.min(n, i + batch);
    for (; i < end; i++) send(i);
  }
}

async function viaBroadcast({ n, receivers, capacity }: FanoutCaseArgs, drain: boolean): Promise<void> {
  const [tx, rx0] = broadcast<number>(capacity);
  const rxs = [rx0, ...Array.from({ length: receivers - 1 }, () => tx.subscribe())];
  const reading = rxs.map((rx) => (drain ? readDraining(rx, n) : readIterating(rx, n)));
  await publish(
    n,
    capacity,
    (v) => tx.send(v),
    () => tx.len,
  );
  tx.close();
  await Promise.all(reading);
}

async function readIterating(rx: BroadcastReceiver<number>, n: number): Promise<void> {
  const check = new OrderCheck(1);
  for await (const v of rx) {
    if (v instanceof Lagged) throw new Error(`a receiver lagged by ${v.missed}`);
    check.see(v);
  }
  check.done(n);
}

async function readDraining(rx: BroadcastReceiver<number>, n: number): Promise<void> {
  const check = new OrderCheck(1);
  for (;;) {
    const r = rx.tryRecv();
    if (r.ok) {
      check.see(r.value);
      continue;
    }
    if (r.reason === "lagged") throw new Error(`a receiver lagged by ${r.missed}`);
    if (r.reason === "closed") break;
    const v = await rx.recv();
    if (v === undefined) break;
    if (v instanceof Lagged) throw new Error(`a receiver lagged by ${v.missed}`);
    check.see(v);
  }
  check.done(n);
}

async function viaEventEmitter({ n, receivers }: FanoutCaseArgs): Promise<void> {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const checks = Array.from({ length: receivers }, () => new OrderCheck(1));
  for (const check of checks) emitter.on("message", (v: number) => check.see(v));
  for (let i = 0; i < n; i++) emitter.emit("message", i);
  for (const check of checks) check.done(n);
}

async function viaChannels({ n, receivers, capacity }: FanoutCaseArgs): Promise<void> {
  const pairs = Array.from({ length: receivers }, () => channel<number>(capacity));
  const reading = pairs.map(([, rx]) => readChannel(rx, n));
  for (let i = 0; i < n; i++) {
    for (const [tx] of pairs) {
      if (tx.capacity > 0) tx.trySend(i);
      else await tx.send(i);
    }
  }
  for (const [tx] of pairs) tx.close();
  await Promise.all(reading);
}

async function readChannel(rx: Receiver<number>, n: number): Promise<void> {
  const check = new OrderCheck(1);
  for await (const v of rx) check.see(v);
  check.done(n);
}

/** The implementations, by name. */
export const fanoutCases: Record<string, (args: FanoutCaseArgs) => Promise<void>> = {
  broadcast: (args) => viaBroadcast(args, false),
  "broadcast tryRecv": (args) => viaBroadcast(args, true),
  EventEmitter: viaEventEmitter,
  "channel per receiver": viaChannels,
};

/** One repetition of `impl`: messages published per second (each reaching every receiver). */
export async function measureFanout(impl: string, args: FanoutCaseArgs, warm: boolean): Promise<number> {
  const run = fanoutCases[impl];
  if (run === undefined) throw new Error(`unknown fan-out case ${impl}`);
  const n = warm ? Math.max(100, Math.floor(args.n / 4)) : args.n;
  const t0 = performance.now();
  await run({ ...args, n });
  return n / ((performance.now() - t0) / 1000);
}
