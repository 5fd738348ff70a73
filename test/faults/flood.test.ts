import { credentials } from "@grpc/grpc-js";
import { bidiCall } from "grpc-mpsc/grpc";
import { afterAll, describe, expect, it } from "vitest";
import { sleep, within } from "../support/async.js";
import { killAll, nextMessage, spawnFixture, stats } from "../support/fixtures.js";
import { TestClientCtor } from "../support/grpc.js";

afterAll(killAll);

/** The bound this test holds the server to: request capacity + grpc-js and HTTP/2 windows are a few MiB. */
const BOUND_MIB = 64;

describe("a hostile client floods a slow handler", () => {
  it("the server's RSS stays within 64 MiB of its baseline and it keeps serving a well-behaved client", async () => {
    const server = spawnFixture("server", ["slow"]);
    const { port } = await nextMessage<{ port: number }>(server);
    const baseline = await stats(server);
    const flooder = spawnFixture("flood-client", [String(port)]);
    expect(await nextMessage<string>(flooder)).toBe("flooding");

    const client = TestClientCtor(`127.0.0.1:${port}`, credentials.createInsecure());
    let peak = baseline.rss;
    try {
      // 5 s of flooding, while a second client does 100 round trips and the server's RSS is sampled.
      const { tx, rx } = bidiCall((md, o) => client.chat(md, o));
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
        `flood: server RSS baseline ${(baseline.rss / 2 ** 20).toFixed(1)} MiB, peak +${growthMiB.toFixed(1)} MiB`,
      );
      expect(growthMiB).toBeLessThan(BOUND_MIB);
      expect((await stats(server)).unhandled).toBe(0);
    } finally {
      client.close();
      await killAll();
    }
  }, 60_000);
});
