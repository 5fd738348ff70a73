/**
 * What the Redis feed's suites share: a redis-server for the file, feeds that close after each test,
 * a second connection for the test's own commands, and a receive loop that accounts for gaps.
 */
import { type BroadcastReceiver, Lagged } from "grpc-mpsc";
import { type RedisFeed, redisFeed } from "grpc-mpsc/redis";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll } from "vitest";
import { killChildren } from "./processes.js";
import { type RedisServer, startRedis } from "./redis-server.js";

/**
 * Receives until `count` values and gaps are accounted for, as "v" or "lagged N"; "timeout" last
 * where `ms` passed first.
 */
export async function take<T>(rx: BroadcastReceiver<T>, count: number, ms = 5000): Promise<string[]> {
  const got: string[] = [];
  let accounted = 0;
  const signal = AbortSignal.timeout(ms);
  try {
    while (accounted < count) {
      const item = await rx.recv({ signal });
      if (item === undefined) break;
      if (item instanceof Lagged) {
        got.push(`lagged ${item.missed}`);
        accounted += item.missed;
      } else {
        got.push(String(item));
        accounted++;
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
    got.push("timeout");
  }
  return got;
}

/** The server, keys and feeds of one suite (call inside its `describe`). */
export interface RedisFeedFixture {
  /** The suite's redis-server (set once `beforeAll` ran). */
  readonly redis: RedisServer;
  /** A key no other test of the suite uses. */
  key(): string;
  /** A feed on the suite's server, closed after the test. */
  open<T>(options: Parameters<typeof redisFeed<T>>[0]): Promise<RedisFeed<T>>;
  /** Runs `commands` on a connection of its own (another writer than the feeds, for the test's setup). */
  raw(commands: string[][], atomically?: boolean): Promise<unknown[]>;
}

/** Registers the hooks that start a redis-server for the suite, close its feeds and stop it. */
export function redisFeedFixture(prefix: string): RedisFeedFixture {
  let server: RedisServer | undefined;
  const feeds: RedisFeed<unknown>[] = [];
  let n = 0;
  beforeAll(async () => {
    server = await startRedis();
  }, 20_000);
  afterEach(async () => {
    await Promise.all(feeds.splice(0).map((f) => f.close()));
  });
  afterAll(async () => {
    await server?.stop();
    await killChildren();
  });
  const fixture: RedisFeedFixture = {
    get redis(): RedisServer {
      if (server === undefined) throw new Error("the suite's redis-server has not started");
      return server;
    },
    key: () => `${prefix}-${++n}`,
    async open<T>(options: Parameters<typeof redisFeed<T>>[0]): Promise<RedisFeed<T>> {
      const feed = await redisFeed<T>({ ...options, client: { url: fixture.redis.url, ...options.client } });
      feeds.push(feed as RedisFeed<unknown>);
      return feed;
    },
    async raw(commands: string[][], atomically = false): Promise<unknown[]> {
      const client = createClient({ url: fixture.redis.url });
      await client.connect();
      try {
        if (!atomically) return await Promise.all(commands.map((c) => client.sendCommand(c)));
        const multi = client.multi();
        for (const c of commands) multi.addCommand(c);
        return await multi.exec();
      } finally {
        client.destroy();
      }
    },
  };
  return fixture;
}
