/**
 * A raw grpc-js client that ignores backpressure floods a slow handler on each server transport
 * (grpc-js with the adapters, grpc-mpsc/h2), while a client of the same transport is served.
 */
import { afterAll, describe, expect, it } from "vitest";
import { sleep, within } from "../support/async.js";
import { killAll, nextMessage, spawnFixture, stats } from "../support/fixtures.js";
import { TRANSPORTS } from "../support/transport.js";

afterAll(killAll);

/** The bound this test holds the server to: request capacity + grpc-js and HTTP/2 windows are a few MiB. */
const BOUND_MIB = 64;

describe.each(TRANSPORTS)("a hostile client floods a slow handler on the $name server", (transport) => {
  it("the server's RSS stays within 64 MiB of its baseline and it keeps serving a well-behaved client", async () => {
    const server = spawnFixture("server", ["slow", transport.name]);
    const { port } = await nextMessage<{ port: number }>(server);
    const baseline = await stats(server);
    const flooder = spawnFixture("flood-client", [String(port)]);
    expect(await nextMessage<string>(flooder)).toBe("flooding");

    const client = transport.connect(`127.0.0.1:${port}`);
    let peak = baseline.rss;
    try {
      // 5 s of flooding, while a second client does 100 round trips and the server's RSS is sampled.
      const { tx, rx } = client.chat();
      const roundTrips = (async () => {
        for (let n = 0; n < 100; n++) {
          await tx.send({ n });
          const answer = await rx.recv();
          if (answer?.n !== n) throw new Error(`round trip ${n} answered ${answer?.n}`);
        }
        tx.close();
        return 100;
      })();
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        peak = Math.max(peak, (await stats(server)).rss);
        await sleep(250);
      }
      expect(await within(roundTrips, 20_000, "the well-behaved client")).toBe(100);
      const growthMiB = (peak - baseline.rss) / 2 ** 20;
      console.log(
        `flood (${transport.name}): server RSS baseline ${(baseline.rss / 2 ** 20).toFixed(1)} MiB, peak +${growthMiB.toFixed(1)} MiB`,
      );
      expect(growthMiB).toBeLessThan(BOUND_MIB);
      expect((await stats(server)).unhandled).toBe(0);
    } finally {
      client.close();
      await killAll();
    }
  }, 60_000);
});
