/**
 * The fan-out example's server: a price feed. A publisher loop makes a tick every `intervalMs`;
 * each tick goes into a `watch` (the latest state) and a `broadcast` (the feed). A subscriber first
 * gets the latest tick, then every tick as its own call's flow control allows (`sendBroadcast`): a
 * slow or stalled subscriber holds back only itself, and once it is more than `capacity` ticks
 * behind it is told how many it missed, while everyone else goes on.
 *
 * Resume: every tick's `seq` is its sequence number in the broadcast, and a client that reconnects
 * sends the last one it has (`mpsc-resume-from` metadata, see `resumeMetadata`): the server goes on
 * from the next one (`resumeBroadcast`), so a dropped connection loses nothing, or is told exactly
 * how many ticks are gone. With `redisUrl` the feed is a Redis stream (`grpc-mpsc/redis`): several
 * servers then serve one feed, and a client resumes on any of them, after a server restart too.
 *
 * Run: `npm run example:ticker -- --server-only --port 50052` runs it alone until Ctrl-C (see main.ts for
 * the flags).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Metadata, Server, ServerCredentials } from "@grpc/grpc-js";
import { broadcast, type Sender, watch } from "grpc-mpsc";
import {
  type BroadcastSource,
  FEED_EPOCH_METADATA_KEY,
  type ResumeContext,
  resumeBroadcast,
  resumePointFromMetadata,
  sendBroadcast,
  serveServerStream,
  shutdownServer,
  streamingServerOptions,
} from "grpc-mpsc/grpc";
import { createServer as createH2Server } from "grpc-mpsc/h2";
import { redisFeed } from "grpc-mpsc/redis";
import type { Transport } from "../cli.js";
import {
  type SubscribeRequest,
  type Tick,
  type TickerServer,
  TickerService,
  type TickerUpdate,
} from "../generated/ticker.js";

/** Options of {@link startTicker}. */
export interface TickerOptions {
  /** Port on 127.0.0.1 (0: any free port). */
  port: number;
  /** Time between two ticks, in ms. */
  intervalMs: number;
  /** How many ticks a subscriber may fall behind before it misses some (the broadcast's capacity). */
  capacity: number;
  /** Where log lines go. */
  log: (line: string) => void;
  /** Serve the feed of this Redis (`redis://host:port`) stream instead of an in-process broadcast. */
  redisUrl?: string;
  /** The Redis stream's key (default `"ticker"`). */
  redisKey?: string;
  /** Whether this server publishes ticks (default true; with Redis, one server or a separate process does). */
  publish?: boolean;
  /** The gRPC transport: grpc-js with the adapters (default), or `grpc-mpsc/h2`. */
  transport?: Transport;
}

/** A running ticker server. */
export interface RunningTicker {
  /** The port it listens on. */
  readonly port: number;
  /** Ticks published so far. */
  readonly published: number;
  /** The feed's epoch: a new one each time an in-process ticker starts (its numbers start again from 1). */
  readonly epoch: string;
  /** Stops the publisher, ends every subscription with UNAVAILABLE, and stops the server. */
  stop(): Promise<void>;
}

/** Starts the publisher and the server on 127.0.0.1. */
export async function startTicker(options: TickerOptions): Promise<RunningTicker> {
  const { log } = options;
  const [latest, latestRx] = watch<Tick | null>(null); // no tick yet
  const stopping = new AbortController();
  const feed = await openFeed(options, (tick) => latest.send(tick));

  let seq = 0;
  let price = 100;
  const nextTick = (): Tick => {
    price = Math.max(1, price + (Math.random() - 0.5));
    return { seq: ++seq, symbol: "MPSC", price: Math.round(price * 100) / 100 };
  };
  const publishing = options.publish === false ? Promise.resolve() : publishLoop();
  // Paced by the clock, not by the timer: tick n is due n * intervalMs after the start, and ticks
  // that fell due while a timer fired late (a loaded machine) go out one per event-loop turn until it
  // caught up, so the feed keeps its rate; a backlog of more than a second's ticks is dropped (the
  // clock starts again).
  async function publishLoop(): Promise<void> {
    let start = performance.now();
    let due = 0;
    while (!stopping.signal.aborted) {
      try {
        await feed.publish(nextTick());
      } catch (err) {
        // The feed closed (stopping), or Redis refused a tick (another writer on the stream's key).
        if (!stopping.signal.aborted) log(`server: publishing stopped: ${String(err)}`);
        return;
      }
      due++;
      const wait = start + due * options.intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      else if (-wait > 1000) [start, due] = [performance.now(), 0];
      else await new Promise<void>((resolve) => setImmediate(resolve)); // the readers' I/O between two
    }
  }

  /** One subscription, on either transport (what it reads of `ctx` both have). */
  const subscribe = async (
    request: SubscribeRequest,
    responses: Sender<TickerUpdate>,
    ctx: SubscriptionContext,
  ): Promise<void> => {
    const map = (tick: Tick, n: number) => ({ tick: { ...tick, seq: n } });
    const onLag = async (n: number): Promise<void> => {
      log(`server: ${request.name} fell behind and missed ${n} ticks`);
      await responses.send({ missed: n });
    };
    const point = resumePointFromMetadata(ctx.metadata); // INVALID_ARGUMENT if malformed
    let result: Awaited<ReturnType<typeof sendBroadcast>>;
    if (point === undefined) {
      // A new subscriber: the latest tick, then every one after it (subscribed first, so that
      // no tick falls between the two).
      const ticks = feed.source.subscribe({ from: feed.source.nextSeq });
      const current = latestRx.borrow();
      const headers = new Metadata();
      headers.set(FEED_EPOCH_METADATA_KEY, feed.source.epoch ?? "");
      ctx.sendMetadata(headers); // the epoch it will resume with
      if (current !== null) await responses.send({ latest: current });
      log(`server: ${request.name} subscribed at tick ${current?.seq ?? 0}`);
      result = await sendBroadcast(ticks, responses, { signal: ctx.signal, map, onLag });
    } else {
      log(`server: ${request.name} resumed after tick ${point.lastSeq}`);
      // Given ctx, it sends the feed's epoch in the headers, and a client whose epoch is another
      // feed's (this server restarted, or the Redis stream was reset) gets the new epoch's ticks
      // from its first (those gone counted as missed).
      result = await resumeBroadcast(feed.source, ctx, responses, {
        signal: ctx.signal,
        map,
        onLag,
        onReset: ({ lastSeq }) =>
          log(
            `server: ${request.name} had tick ${lastSeq} of another epoch: sent this epoch from its first tick`,
          ),
      });
    }
    const { sent, missed, ended } = result;
    log(`server: ${request.name} left (${ended} ended) after ${sent} ticks, ${missed} missed`);
  };
  const serving =
    options.transport === "h2"
      ? await h2Server(subscribe, options.port)
      : await grpcJsServer(subscribe, options.port, stopping.signal);
  const port = serving.port;
  log(
    `server: ticker on 127.0.0.1:${port}, a tick every ${options.intervalMs} ms, ${options.capacity} may be pending per subscriber`,
  );
  return {
    port,
    get published() {
      return seq;
    },
    get epoch() {
      return feed.source.epoch ?? "";
    },
    async stop() {
      stopping.abort();
      await feed.close();
      await publishing;
      await serving.stop(stopping);
    },
  };
}

/** What a subscription reads of its call's context: the grpc-js wrappers' and h2's both give it. */
interface SubscriptionContext extends ResumeContext {
  readonly signal: AbortSignal;
}

/** The transport-specific part of a running ticker: its port, and how it stops. */
interface Serving {
  readonly port: number;
  stop(stopping: AbortController): Promise<void>;
}

type Subscribe = (
  request: SubscribeRequest,
  responses: Sender<TickerUpdate>,
  ctx: SubscriptionContext,
) => Promise<void>;

/** The ticker on grpc-js with the adapters: `shutdownSignal` ends the subscriptions at a stop. */
async function grpcJsServer(subscribe: Subscribe, port: number, shutdown: AbortSignal): Promise<Serving> {
  const server = new Server(streamingServerOptions);
  server.addService(TickerService, {
    subscribe: serveServerStream(subscribe, { shutdownSignal: shutdown }),
  } satisfies TickerServer);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port: bound,
    stop: async (stopping) => {
      await shutdownServer(server, { abort: stopping, graceMs: 2000 });
    },
  };
}

/** The ticker on grpc-mpsc/h2: its shutdown aborts every subscription's `ctx.signal`. */
async function h2Server(subscribe: Subscribe, port: number): Promise<Serving> {
  const server = createH2Server().addService(TickerService, { subscribe });
  const bound = await server.listen(port);
  return { port: bound, stop: () => server.shutdown(0) }; // every subscription ends UNAVAILABLE at once
}

/** Where the ticks come from and go: an in-process broadcast, or a Redis stream. */
interface Feed {
  readonly source: BroadcastSource<Tick> & { readonly epoch: string };
  publish(tick: Tick): Promise<unknown>;
  close(): Promise<void>;
}

/** The feed of `options`; `onTick` hears each tick published in process (for the latest one). */
async function openFeed(options: TickerOptions, onTick: (tick: Tick) => void): Promise<Feed> {
  const { log } = options;
  if (options.redisUrl === undefined) {
    // replay: a client that reconnects within `capacity` ticks resumes with nothing lost.
    const [tx, unused] = broadcast<Tick>(options.capacity, { replay: options.capacity });
    unused.close(); // subscribers come from tx.subscribe()
    return {
      source: tx,
      async publish(tick) {
        onTick(tick);
        tx.send(tick);
      },
      async close() {
        tx.close();
      },
    };
  }
  const feed = await redisFeed<Tick>({
    key: options.redisKey ?? "ticker",
    capacity: options.capacity,
    client: { url: options.redisUrl, socket: { reconnectStrategy: () => 100 } },
    onEvent: (event) => {
      if (event.type === "error") log(`server: redis ${event.during} error: ${String(event.error)}`);
      else if (event.type === "gap") log(`server: redis lost ${event.missed} ticks before ${event.seq}`);
      else log(`server: redis ${event.type}`);
    },
  });
  // No latest tick here: a new subscriber starts with the next tick the stream gets.
  return {
    source: feed,
    publish: (tick) => feed.publish(tick),
    close: () => feed.close(),
  };
}
