/**
 * Churn on each transport (grpc-js with the adapters, grpc-mpsc/h2): streams opened and torn down by
 * every kind of end must leave nothing behind in the server, a child process of its own.
 */
import { Code as status } from "grpc-mpsc/h2";
import PQueue from "p-queue";
import { afterAll, describe, expect, it } from "vitest";
import { killAll, nextMessage, type ServerStats, spawnFixture, stats } from "../support/fixtures.js";
import { OWN_CONNECTION } from "../support/grpc.js";
import { TRANSPORTS, type Transport } from "../support/transport.js";

afterAll(killAll);

const STREAMS = 2000;

/**
 * Opens `count` streams, ending them in turn by cancel, by a normal end, and (every 10th) by deadline.
 * A new connection serves every 200 streams: HTTP/2 servers rate-limit the stream resets one
 * connection may send (nghttp2's rapid-reset protection refuses further streams), and a cancel is a reset.
 */
async function churn(transport: Transport, port: number, count: number): Promise<Record<string, number>> {
  const ends: Record<string, number> = { ok: 0, cancelled: 0, deadline: 0 };
  for (let first = 0; first < count; first += 200) {
    await batch(transport, port, first, Math.min(count, first + 200), ends);
  }
  return ends;
}

async function batch(
  transport: Transport,
  port: number,
  from: number,
  to: number,
  ends: Record<string, number>,
): Promise<void> {
  const client = transport.connect(`127.0.0.1:${port}`, { grpcJs: OWN_CONNECTION });
  const queue = new PQueue({ concurrency: 50 });
  try {
    await Promise.all(
      Array.from({ length: to - from }, (_, k) => from + k).map((i) =>
        queue.add(async () => {
          const byDeadline = i % 10 === 9;
          const call = client.chat(byDeadline ? { deadline: Date.now() + 30 } : {});
          await call.tx.send({ n: i });
          if (byDeadline) {
            // never half-closes: the deadline ends it
          } else if (i % 2 === 0) {
            await call.rx.recv();
            call.cancel();
          } else {
            call.tx.close();
            for await (const _ of call.rx) {
              // drain to the end
            }
          }
          const code = await call.status.then(
            (s) => s.code,
            (e: { code: number }) => e.code,
          );
          if (code === status.OK) ends.ok = (ends.ok ?? 0) + 1;
          else if (code === status.CANCELLED) ends.cancelled = (ends.cancelled ?? 0) + 1;
          else if (code === status.DEADLINE_EXCEEDED) ends.deadline = (ends.deadline ?? 0) + 1;
          else throw new Error(`stream ${i} ended with ${code}`);
        }),
      ),
    );
  } finally {
    client.close();
  }
}

const MiB = 2 ** 20;

describe.each(TRANSPORTS)("churn and leaks on the $name server and client", (transport) => {
  it("2,000 streams opened and torn down (cancel, normal end, deadline) leave no handles, timers, live handlers or heap behind", async () => {
    const server = spawnFixture("server", ["echo", transport.name]);
    const { port } = await nextMessage<{ port: number }>(server);
    await churn(transport, port, 200); // warm-up: JIT, pools and caches reach their steady size
    await new Promise((r) => setTimeout(r, 300));
    const before: ServerStats = await stats(server);
    const ends = await churn(transport, port, STREAMS);
    await new Promise((r) => setTimeout(r, 500)); // let the last cancels and deadlines land
    const after: ServerStats = await stats(server);
    console.log(
      `churn (${transport.name}): ends ${JSON.stringify(ends)}; heap ${(before.heapUsed / MiB).toFixed(1)} -> ${(after.heapUsed / MiB).toFixed(1)} MiB; resources ${JSON.stringify(before.resources)} -> ${JSON.stringify(after.resources)}`,
    );
    expect((ends.ok ?? 0) + (ends.cancelled ?? 0) + (ends.deadline ?? 0)).toBe(STREAMS);
    expect(ends.deadline).toBeGreaterThan(0);
    expect(after.live).toBe(0);
    expect(after.unhandled).toBe(0);
    expect(after.resources.Timeout ?? 0).toBeLessThanOrEqual(before.resources.Timeout ?? 0);
    const handles = (s: ServerStats): number => Object.values(s.resources).reduce((a, b) => a + b, 0);
    expect(handles(after)).toBeLessThanOrEqual(handles(before) + 1);
    expect((after.heapUsed - before.heapUsed) / MiB).toBeLessThan(4);
  }, 120_000);
});
