/**
 * Fan-out through Redis: a publisher feed appends to a Redis stream (`XADD`), a second feed, as a
 * server process would, reads it (`XREAD BLOCK`) into its ring, and 200 receivers of that feed each
 * take every message. Figures: messages delivered per second (messages x receivers / time from the
 * first publish to the last receipt) and the end-to-end latency of each message (publish call to
 * receipt, one clock: both feeds run in this process) at p50 and p99. The gRPC leg from a server to
 * its clients is measured by `gfanout`; this is the shared log's cost on top.
 *
 * redis-server (Debian's) runs for each repetition, on a free loopback port, without persistence, and
 * is stopped at its end (a server per worker would outlive a worker that the pool kills). Without it
 * the case has no configuration (the runner prints why).
 */
import { performance } from "node:perf_hooks";
import { Lagged } from "grpc-mpsc";
import { redisFeed } from "grpc-mpsc/redis";
import { hasRedis, startRedis } from "../../test/support/redis-server.js";

/** One configuration. */
export interface RedisFanoutParams {
  readonly receivers: number;
  readonly messages: number;
}

/** Whether the case can run here (redis-server on PATH). */
export const redisAvailable = (): boolean => hasRedis();

let round = 0;

/** One repetition: every receiver must get every message once, in order (throws otherwise). */
export async function redisFanout(
  params: RedisFanoutParams,
): Promise<{ rate: number; p50: number; p99: number }> {
  const redis = await startRedis();
  try {
    return await deliver(redis.url, params);
  } finally {
    await redis.stop();
  }
}

/** The repetition's publisher, reader and receivers, on the redis-server at `url`. */
async function deliver(
  url: string,
  params: RedisFanoutParams,
): Promise<{ rate: number; p50: number; p99: number }> {
  const key = `bench-${process.pid}-${++round}`;
  const client = { url };
  // The ring holds the whole run: a receiver that lagged would be a failed repetition, not a figure.
  const capacity = params.messages;
  const publisher = await redisFeed<[number, number]>({
    key,
    capacity: 16,
    replay: 0,
    client,
    maxLen: capacity,
  });
  const reader = await redisFeed<[number, number]>({ key, capacity, replay: 0, client });
  const latencies: number[] = [];
  let last = 0;
  try {
    const receiving = Array.from({ length: params.receivers }, async (_, r) => {
      const rx = reader.subscribe();
      let expected = 0;
      while (expected < params.messages) {
        const item = await rx.recv();
        if (item === undefined || item instanceof Lagged)
          throw new Error(`receiver ${r}: ${String(item)} at ${expected}`);
        const [i, sentAt] = item;
        if (i !== expected) throw new Error(`receiver ${r}: got message ${i}, expected ${expected}`);
        const now = performance.now();
        if (i % 10 === r % 10) latencies.push(now - sentAt);
        expected++;
        last = now;
      }
      rx.close();
    });
    const start = performance.now();
    const published: Promise<number>[] = [];
    for (let i = 0; i < params.messages; i++) {
      published.push(publisher.publish([i, performance.now()]));
      // At most 64 unacknowledged, as a producer that awaits its publishes: the latency is then the
      // log's, not that of a queue in the publisher.
      if (i % 64 === 63) await Promise.all(published.splice(0));
    }
    await Promise.all(published);
    await Promise.all(receiving);
    latencies.sort((a, b) => a - b);
    const at = (q: number): number =>
      (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 1000;
    return {
      rate: (params.messages * params.receivers) / ((last - start) / 1000),
      p50: at(0.5),
      p99: at(0.99),
    };
  } finally {
    await Promise.all([publisher.close(), reader.close()]);
  }
}
