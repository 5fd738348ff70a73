/**
 * Fan-out beyond one process, for real: three ticker servers (examples/ticker, `--redis --mirror`)
 * serve one Redis stream; 200 resuming clients spread over them; one publisher. Mid-run one server
 * process is killed (its clients reconnect to the others and resume) and Redis is killed and
 * restarted empty (the servers reconnect and read on). What each client must end with: every tick
 * from 1 to the last exactly once and in order, or a `missed` count that makes the sum exact.
 */
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { redisFeed } from "grpc-mpsc/redis";
import { afterAll, expect, it } from "vitest";
import type { Tick } from "../../examples/generated/ticker.js";
import { type ResumingReport, subscribeResuming } from "../../examples/ticker/client.js";
import { type Child, killChildren, spawnTsx } from "../support/processes.js";
import { describeWithRedis, type RedisServer, startRedis } from "../support/redis.js";

const SERVERS = 3;
const CLIENTS = 200;
const TICKS = 150;

describeWithRedis("three server processes, one Redis stream, 200 resuming clients", () => {
  let redis: RedisServer | undefined;
  afterAll(async () => {
    await killChildren();
    await redis?.stop();
  });

  it("a server killed and a Redis restart mid-run: every client has every tick once and in order, or a counted gap", async () => {
    const t0 = Date.now();
    const log = (m: string): void => console.log(`cluster +${Date.now() - t0} ms: ${m}`);
    redis = await startRedis();
    const key = "cluster-ticks";
    const servers: Child[] = [];
    const ports = await Promise.all(
      Array.from({ length: SERVERS }, async () => {
        const server = spawnTsx("examples/ticker/main.ts", [
          ...["--server-only", "--mirror", "--port", "0", "--capacity", "256"],
          ...["--redis", (redis as RedisServer).url, "--redis-key", key],
        ]);
        servers.push(server);
        const [, port] = await server.line(/^server: ticker on 127\.0\.0\.1:(\d+),/, 40_000);
        return Number(port);
      }),
    );
    const targets = ports.map((p) => `127.0.0.1:${p}`);
    log(`${SERVERS} servers up`);
    const publisher = await redisFeed<Tick>({
      key,
      capacity: 64,
      replay: 0,
      client: { url: redis.url, socket: { reconnectStrategy: () => 50 } },
    });
    const giveUp = AbortSignal.timeout(40_000);
    setMaxListeners(CLIENTS + 10, giveUp); // one listener per client
    try {
      // Every client starts from tick 1 (fromStart), on server i % 3, and fails over to the next ones.
      const clients = Array.from({ length: CLIENTS }, (_, i) =>
        subscribeResuming({
          targets: [0, 1, 2].map((k) => targets[(i + k) % SERVERS] as string),
          name: `c${i}`,
          untilSeq: TICKS,
          fromStart: true,
          retryMs: 100,
          signal: giveUp,
        }),
      );
      for (let i = 1; i <= TICKS; i++) {
        await publisher.publish({ seq: 0, symbol: "T", price: i });
        if (i === Math.floor(TICKS / 3)) {
          servers[0]?.process.kill("SIGKILL");
          log(`killed server 0 after tick ${i}`);
        }
        if (i === Math.floor((2 * TICKS) / 3)) {
          await redis.kill();
          // Published while Redis is down: publish waits and retries; nothing is lost from here on.
          const during = publisher.publish({ seq: 0, symbol: "T", price: ++i });
          await sleep(300);
          await redis.start();
          await during;
          log(`restarted Redis after tick ${i - 1}`);
        }
        if (i % 10 === 0) await sleep(10); // ~1,000 ticks/s at most: 200 clients share this process
      }
      log(`published ${TICKS}`);
      const reports: ResumingReport[] = await Promise.all(clients);
      log("every client is done");
      let reconnected = 0;
      let missed = 0;
      for (const r of reports) {
        expect(r, r.name).toMatchObject({ lastSeq: TICKS, duplicates: 0, inOrder: true });
        expect(r.ticks + r.missed, r.name).toBe(TICKS); // the sum is exact
        expect(r.joinedAt, r.name).toBe(0);
        if (r.reconnects > 0) reconnected++;
        missed += r.missed;
      }
      // The killed server's clients (a third) went to the others and resumed there.
      expect(reconnected).toBeGreaterThanOrEqual(Math.floor(CLIENTS / SERVERS));
      console.log(
        `cluster: ${CLIENTS} clients, ${TICKS} ticks each, ${reconnected} reconnected, ${missed} counted missed in all`,
      );
      expect(giveUp.aborted).toBe(false);
    } finally {
      await publisher.close();
      await Promise.all(
        servers.map((s) => {
          s.process.kill("SIGTERM");
          return s.exit(5000).catch(() => undefined);
        }),
      );
    }
  }, 90_000);
});
