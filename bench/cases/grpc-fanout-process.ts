/**
 * gRPC fan-out, run as its own process so that its peak RSS is its own:
 * `node --expose-gc --import tsx bench/cases/grpc-fanout-process.ts <impl> <none|one> '<params JSON>'`
 * prints one JSON line, a {@link FanoutRun}.
 *
 * One publisher, `streams` server-streaming calls (BenchService.Flood on proto/bench.proto), each to
 * be given every published message. The server's fan-out is what is compared (bench/cases/impls.ts,
 * `grpcFanoutImpls`: grpc-mpsc's broadcast on its grpc-js adapters or on its own transport, h2, and
 * raw grpc-js); the clients are the same raw grpc-js calls for every implementation, in this
 * process: `streams - 1` of them share one connection, the last one has a connection of its own (a
 * peer of its own). With `one`, that last client reads the first message and then no more: a stalled
 * peer, whose HTTP/2 flow control soon holds the server's writes to it back. With `none` it reads like
 * the others.
 *
 * The publisher publishes for `warmup` seconds, then for a window of `seconds`, paced by the healthy
 * clients only: it publishes message `i` once every healthy client has received message `i - window`
 * (the same credit for every implementation), so the figure is the fastest rate at which every
 * healthy client gets every message: the messages that every healthy client received during the
 * window, per second.
 * `broadcast`'s capacity is `2 * window`, so a healthy subscriber never falls out of its window. A
 * publisher that stalls (the drain-honouring one, waiting for a client that stopped reading) is
 * stopped when the window closes. Then the healthy clients catch up, and each checks that it got
 * every message published, once and in order (the run throws otherwise).
 *
 * Peak RSS is sampled every 5 ms from the moment every stream is open (the baseline, after full GCs)
 * until the healthy clients have caught up; then the server's backlog for its slowest stream is
 * counted, in messages.
 */
import { fileURLToPath } from "node:url";
import {
  type ClientReadableStream,
  credentials,
  Server,
  ServerCredentials,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import { broadcast, type Sender } from "grpc-mpsc";
import {
  type SendBroadcastResult,
  sendBroadcast,
  serveServerStream,
  streamingClientOptions,
} from "grpc-mpsc/grpc";
import { Code, createServer as createH2Server, GrpcError } from "grpc-mpsc/h2";
import {
  BenchServiceClient,
  BenchServiceService,
  type Chunk,
  type FloodRequest,
} from "../../examples/generated/bench.js";
// Not grpc-servers.ts: it loads nice-grpc and the bare-HTTP/2 server, a quarter of a second per process.
import { type GrpcFanoutImpl, grpcFanoutImpls } from "./impls.js";

/** One configuration of the fan-out case (plain data: it crosses to the worker, then to this process). */
export interface FanoutParams {
  /** Server-streaming calls open at once, the stalled one included. */
  readonly streams: number;
  /** Payload bytes of each message. */
  readonly size: number;
  /** How many messages the publisher may be ahead of the slowest healthy client. */
  readonly window: number;
  /** How long the publisher publishes before the measurement begins, in seconds (JIT, buffers). */
  readonly warmup: number;
  /** How long the publisher then publishes, in seconds: the measurement's window. */
  readonly seconds: number;
}

/** Whether the last client reads (`none` stalled) or stops reading (`one` stalled). */
export type Stalled = "none" | "one";

/** What one process measured. */
export interface FanoutRun {
  /** Messages per second that every healthy client received, over the window (after the warm-up). */
  readonly rate: number;
  /** Messages published, warm-up included; every healthy client received each of them, in order. */
  readonly published: number;
  /** Peak RSS of this process (server and clients) above its baseline with every stream open, MiB. */
  readonly peakMiB: number;
  /**
   * Messages the server still held for its slowest stream once the healthy clients had caught up:
   * raw grpc-js, the call's `writableLength`; grpc-mpsc (and h2), the broadcast's `len` (values a
   * receiver has yet to read) and the fullest responses channel (beyond these, the adapter keeps at
   * most grpc-js's own 16 in the call, h2's writer one burst). With a stalled client, naive grows with
   * every message published.
   */
  readonly backlog: number;
  /**
   * Streams the server had not handed every published message to at the end: for grpc-mpsc, the
   * subscriptions whose `sendBroadcast` sent fewer than were published; for raw grpc-js, the calls with
   * messages still queued in them (`writableLength > 0`).
   */
  readonly behind: number;
}

/** No stream opening, and no teardown, may take longer. */
const SETUP_MS = 30_000;

/** A fan-out server: its port, and the publisher's one operation. */
interface FanoutServer {
  readonly port: number;
  /** Hands `chunk` to every open stream; a promise when the publisher must wait before the next. */
  publish(chunk: Chunk): Promise<unknown> | undefined;
  /** See {@link FanoutRun.backlog}. */
  backlog(): number;
  /**
   * Ends the publishing (`cancelClients` then cancels every client call), and counts the streams
   * that were behind (see {@link FanoutRun.behind}); `published` is how many were published.
   */
  finish(published: number, cancelClients: () => void): Promise<number>;
  stop(): void;
}

/** Starts `server` on 127.0.0.1 and an ephemeral port. */
const bind = (server: Server): Promise<number> =>
  new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );

/** Resolves with `promise`'s value, or rejects after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not done in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * grpc-mpsc's fan-out: a `broadcast`, and `sendBroadcast` of a subscription into each call's
 * responses, by a server-streaming handler on either transport (`serve`).
 */
function broadcastFanout(
  capacity: number,
  onSubscribe: () => void,
): Omit<FanoutServer, "port" | "stop"> & {
  serve(responses: Sender<Chunk>, signal: AbortSignal): Promise<void>;
} {
  const [tx, unused] = broadcast<Chunk>(capacity);
  unused.close(); // subscribers come from tx.subscribe()
  const forwarded: Promise<SendBroadcastResult>[] = [];
  const senders: Sender<Chunk>[] = [];
  return {
    async serve(responses, signal) {
      senders.push(responses);
      const done = sendBroadcast(tx.subscribe(), responses, { signal });
      forwarded.push(done);
      onSubscribe();
      await done;
    },
    publish(chunk) {
      tx.send(chunk);
      return undefined;
    },
    backlog: () => tx.len + Math.max(0, ...senders.map((r) => r.maxCapacity - r.capacity)),
    async finish(published, cancelClients) {
      tx.close(); // the healthy subscriptions end once they have sent everything
      cancelClients(); // the stalled one ends with its call
      const results = await within(Promise.all(forwarded), SETUP_MS, "grpc-mpsc: the handlers ending");
      return results.filter((r) => r.sent < published).length;
    },
  };
}

/** grpc-mpsc's fan-out served by its adapters on grpc-js (`serveServerStream`). */
async function startOurs(capacity: number, onSubscribe: () => void): Promise<FanoutServer> {
  const fanout = broadcastFanout(capacity, onSubscribe);
  const server = new Server();
  server.addService(BenchServiceService, {
    flood: serveServerStream<FloodRequest, Chunk>((_request, responses, ctx) =>
      fanout.serve(responses, ctx.signal),
    ),
  });
  return { ...fanout, port: await bind(server), stop: () => server.forceShutdown() };
}

/** The same fan-out served by grpc-mpsc's own transport (`grpc-mpsc/h2`); the clients stay grpc-js's. */
async function startH2(capacity: number, onSubscribe: () => void): Promise<FanoutServer> {
  const fanout = broadcastFanout(capacity, onSubscribe);
  const unimplemented = async (): Promise<never> => {
    throw new GrpcError(Code.UNIMPLEMENTED, "not served in the fan-out case");
  };
  const server = createH2Server().addService(BenchServiceService, {
    flood: (_request, responses, ctx) => fanout.serve(responses, ctx.signal),
    echo: unimplemented,
    upload: unimplemented,
  });
  return { ...fanout, port: await server.listen(0), stop: () => server.forceShutdown() };
}

/** Raw grpc-js: a `Set` of the open calls; `drain` awaits 'drain' of every call whose write() said full. */
async function startRaw(drain: boolean, onSubscribe: () => void): Promise<FanoutServer> {
  const calls = new Set<ServerWritableStream<FloodRequest, Chunk>>();
  const server = new Server();
  server.addService(BenchServiceService, {
    flood(call: ServerWritableStream<FloodRequest, Chunk>) {
      calls.add(call);
      call.on("cancelled", () => calls.delete(call));
      call.on("error", () => {});
      onSubscribe();
    },
  });
  const port = await bind(server);
  const drained = (call: ServerWritableStream<FloodRequest, Chunk>): Promise<void> =>
    new Promise((resolve) => call.once("drain", resolve));
  return {
    port,
    publish(chunk) {
      if (!drain) {
        for (const call of calls) call.write(chunk); // the return value ignored: buffers without bound
        return undefined;
      }
      const full: Promise<void>[] = [];
      for (const call of calls) if (!call.write(chunk)) full.push(drained(call));
      return full.length === 0 ? undefined : Promise.all(full);
    },
    backlog: () => Math.max(0, ...[...calls].map((call) => call.writableLength)),
    async finish(_published, cancelClients) {
      const behind = [...calls].filter((call) => call.writableLength > 0).length;
      for (const call of calls) call.end();
      cancelClients();
      return behind;
    },
    stop: () => server.forceShutdown(),
  };
}

const rss = (): number => process.memoryUsage.rss();

/** Runs the fan-out once: `impl`'s server, `p.streams` clients, the last of them stalled with `one`. */
export async function runFanout(impl: GrpcFanoutImpl, stalled: Stalled, p: FanoutParams): Promise<FanoutRun> {
  const healthy = stalled === "one" ? p.streams - 1 : p.streams;
  if (!(healthy >= 1 && healthy < 65_536)) throw new RangeError(`fan-out: ${p.streams} streams`);
  if (global.gc === undefined) throw new Error("fan-out: run node with --expose-gc");
  const payload = Buffer.alloc(p.size, 0x61);
  /** How many healthy clients have received each message (grown as messages are published). */
  let got = new Uint16Array(1024);
  /** Every healthy client has received messages 0 .. through - 1. */
  let through = 0;
  let subscribers = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  /** Waits until `done()` (true) or for `ms` (false); throws a client's failure. */
  const waitFor = async (done: () => boolean, ms: number): Promise<boolean> => {
    const end = performance.now() + ms;
    for (;;) {
      if (failure !== undefined) throw failure;
      if (done()) return true;
      const left = end - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };

  const onSubscribe = (): void => {
    subscribers++;
    notify();
  };
  const server =
    impl === "grpc-mpsc"
      ? await startOurs(2 * p.window, onSubscribe)
      : impl === "h2"
        ? await startH2(2 * p.window, onSubscribe)
        : await startRaw(impl === "raw grpc-js honouring drain", onSubscribe);
  const target = `127.0.0.1:${server.port}`;
  const shared = new BenchServiceClient(target, credentials.createInsecure(), streamingClientOptions);
  // The last client is a peer of its own: its own connection.
  const apart = new BenchServiceClient(target, credentials.createInsecure(), {
    ...streamingClientOptions,
    "grpc.use_local_subchannel_pool": 1,
  });
  const calls: ClientReadableStream<Chunk>[] = [];
  const cancelClients = (): void => {
    for (const call of calls) call.cancel();
  };
  try {
    for (let i = 0; i < p.streams; i++) {
      const last = i === p.streams - 1;
      const call = (last ? apart : shared).flood({ count: 0, size: p.size });
      call.on("error", () => {}); // CANCELLED at the end
      calls.push(call);
      if (last && stalled === "one") {
        // It reads the first message, then stops. (A grpc-js client call that is never read at all
        // keeps taking messages off the connection into a buffer of its own, without bound: only
        // once it has read does it pause its HTTP/2 stream, so that flow control reaches the server.)
        call.once("data", () => call.pause());
        continue;
      }
      let next = 0;
      call.on("data", (chunk: Chunk) => {
        if (chunk.seq !== next || chunk.payload.length !== p.size) {
          failure ??= new Error(
            `${impl}: client ${i} got seq ${chunk.seq} (${chunk.payload.length} B) where it expected ${next} (${p.size} B)`,
          );
          notify();
          return;
        }
        next++;
        const count = (got[chunk.seq] as number) + 1;
        got[chunk.seq] = count;
        if (count === healthy) {
          through = chunk.seq + 1;
          notify();
        }
      });
    }
    if (!(await waitFor(() => subscribers === p.streams, SETUP_MS))) {
      throw new Error(`${impl}: ${subscribers} of ${p.streams} streams opened in ${SETUP_MS} ms`);
    }

    for (let i = 0; i < 2; i++) global.gc();
    const baseline = rss();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss());
    }, 5);
    let published = 0;
    let rate: number;
    // The window begins when the warm-up ends: what every healthy client had received by then.
    let t0 = 0;
    let through0 = 0;
    const warm = setTimeout(() => {
      t0 = performance.now();
      through0 = through;
    }, p.warmup * 1000);
    try {
      const deadline = performance.now() + (p.warmup + p.seconds) * 1000;
      const left = (): number => deadline - performance.now();
      while (left() > 0) {
        if (published - through >= p.window) {
          await waitFor(() => published - through < p.window, left());
          continue;
        }
        if (published === got.length) {
          const grown = new Uint16Array(2 * got.length);
          grown.set(got);
          got = grown;
        }
        const wait = server.publish({ seq: published, payload });
        published++;
        if (wait !== undefined) {
          let drained = false;
          void wait.then(() => {
            drained = true;
            notify();
          });
          await waitFor(() => drained, left()); // a publisher stalled by one client stops at the deadline
        }
      }
      if (t0 === 0) throw new Error(`${impl}: the warm-up never ended (a blocked event loop?)`);
      rate = (through - through0) / ((performance.now() - t0) / 1000);
      // Every healthy client gets every message published (they throw at a gap or a reordering).
      if (!(await waitFor(() => through === published, SETUP_MS))) {
        throw new Error(`${impl}: the healthy clients got ${through} of ${published} in ${SETUP_MS} ms`);
      }
    } finally {
      clearTimeout(warm);
      clearInterval(sampler);
    }
    peak = Math.max(peak, rss());
    const backlog = server.backlog();
    const behind = await server.finish(published, cancelClients);
    return { rate, published, peakMiB: (peak - baseline) / 2 ** 20, backlog, behind };
  } finally {
    cancelClients();
    shared.close();
    apart.close();
    server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [implArg, stalledArg, paramsArg] = process.argv.slice(2);
  const impl = grpcFanoutImpls.find((i) => i === implArg);
  if (impl === undefined || (stalledArg !== "none" && stalledArg !== "one") || paramsArg === undefined) {
    throw new Error(
      `usage: grpc-fanout-process.ts <${grpcFanoutImpls.join("|")}> <none|one> '<params JSON>', got ${process.argv.slice(2)}`,
    );
  }
  const run = await runFanout(impl, stalledArg, JSON.parse(paramsArg) as FanoutParams);
  console.log(JSON.stringify(run));
}
