/**
 * attack-22's silent address (moved out of attack-22.test.ts: it needs no redis-server, and the
 * suites that need one are all skipped on a machine without it, see redis-missing.test.ts).
 */

import { createServer, type Socket } from "node:net";
import { redisFeed } from "grpc-mpsc/redis";
import { expect, it } from "vitest";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

it("attack-22: a Redis address that accepts TCP and never answers: redisFeed settles (rejects) instead of hanging", async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  try {
    const outcome = await Promise.race([
      redisFeed({ key: "k", capacity: 4, client: { url: `redis://127.0.0.1:${port}` } }).then(
        async (f) => {
          await f.close();
          return "resolved";
        },
        (e: Error) => `rejected ${e.message}`,
      ),
      sleep(8000).then(() => "pending after 8 s"),
    ]);
    expect(outcome).toMatch(/^rejected/);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}, 15_000);
