/**
 * The fan-out example's server: a price feed. A publisher loop makes a tick every `intervalMs`;
 * each tick goes into a `watch` (the latest state) and a `broadcast` (the feed). A subscriber first
 * gets the latest tick, then every tick as its own call's flow control allows (`sendBroadcast`): a
 * slow or stalled subscriber holds back only itself, and once it is more than `capacity` ticks
 * behind it is told how many it missed, while everyone else goes on.
 *
 * Run: `npm run example:ticker -- --server-only --port 50052` runs it alone until Ctrl-C (see main.ts for
 * the flags).
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { broadcast, SendError, watch } from "grpc-mpsc";
import { sendBroadcast, serveServerStream, shutdownServer, streamingServerOptions } from "grpc-mpsc/grpc";
import { type Tick, type TickerServer, TickerService } from "../generated/ticker.js";

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
}

/** A running ticker server. */
export interface RunningTicker {
  /** The port it listens on. */
  readonly port: number;
  /** Ticks published so far. */
  readonly published: number;
  /** Stops the publisher, ends every subscription with UNAVAILABLE, and stops the server. */
  stop(): Promise<void>;
}

/** Starts the publisher and the server on 127.0.0.1. */
export async function startTicker(options: TickerOptions): Promise<RunningTicker> {
  const { log } = options;
  const [feed, unused] = broadcast<Tick>(options.capacity);
  unused.close(); // subscribers come from feed.subscribe()
  const [latest, latestRx] = watch<Tick | null>(null); // no tick yet
  const stopping = new AbortController();

  let seq = 0;
  let price = 100;
  const publisher = setInterval(() => {
    price = Math.max(1, price + (Math.random() - 0.5));
    const tick: Tick = { seq: ++seq, symbol: "MPSC", price: Math.round(price * 100) / 100 };
    latest.send(tick);
    try {
      feed.send(tick);
    } catch (err) {
      if (!(err instanceof SendError)) throw err; // nobody subscribed yet: fine for a feed
    }
  }, options.intervalMs);

  const server = new Server(streamingServerOptions);
  server.addService(TickerService, {
    subscribe: serveServerStream(
      async (request, responses, ctx) => {
        // Subscribe before reading the latest, so that no tick falls between the two.
        const ticks = feed.subscribe();
        const current = latestRx.borrow();
        if (current !== null) await responses.send({ latest: current });
        log(`server: ${request.name} subscribed at tick ${current?.seq ?? 0}`);
        const { sent, missed, ended } = await sendBroadcast(ticks, responses, {
          signal: ctx.signal,
          map: (tick) => ({ tick }),
          onLag: async (n) => {
            log(`server: ${request.name} fell behind and missed ${n} ticks`);
            await responses.send({ missed: n });
          },
        });
        log(`server: ${request.name} left (${ended} ended) after ${sent} ticks, ${missed} missed`);
      },
      { shutdownSignal: stopping.signal },
    ),
  } satisfies TickerServer);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port}`, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  log(
    `server: ticker on 127.0.0.1:${port}, a tick every ${options.intervalMs} ms, ${options.capacity} may be pending per subscriber`,
  );
  return {
    port,
    get published() {
      return seq;
    },
    async stop() {
      clearInterval(publisher);
      feed.close();
      await shutdownServer(server, { abort: stopping, graceMs: 2000 });
    },
  };
}
