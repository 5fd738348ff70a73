/**
 * The ticker example across a server restart: an in-process ticker numbers its ticks from 1 again
 * under a new epoch, and the resuming client reports the reset and goes on in the new epoch,
 * instead of waiting silently for its old number or taking new ticks for old ones.
 */
import type { FeedReset } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { subscribeResuming } from "../../examples/ticker/client.js";
import { type RunningTicker, startTicker } from "../../examples/ticker/server.js";

describe("the ticker example: a server restart is a reset the client reports", () => {
  it("the client resumes with the old epoch, is told the new one, and goes on: every tick of each epoch accounted for", async () => {
    const log = (): void => {};
    let ticker: RunningTicker = await startTicker({ port: 0, intervalMs: 2, capacity: 64, log });
    const port = ticker.port;
    const firstEpoch = ticker.epoch;
    const resets: FeedReset[] = [];
    const signal = AbortSignal.timeout(30_000);
    try {
      const client = subscribeResuming({
        targets: [`127.0.0.1:${port}`],
        name: "resetting",
        untilSeq: 400,
        fromStart: true,
        retryMs: 100,
        signal,
        onReset: (reset) => resets.push(reset),
      });
      // Let it take ticks of the first epoch (well short of 400), then restart.
      for (let i = 0; i < 200 && ticker.published < 60; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await ticker.stop();
      ticker = await startTicker({ port, intervalMs: 2, capacity: 64, log });
      expect(ticker.epoch).not.toBe(firstEpoch);
      const report = await client;
      expect(signal.aborted).toBe(false);
      expect(report.resets).toBe(1);
      expect(resets).toHaveLength(1);
      const [reset] = resets as [FeedReset];
      expect(reset.previousEpoch).toBe(firstEpoch);
      expect(reset.epoch).toBe(ticker.epoch);
      expect(reset.lastSeq).toBeGreaterThan(0);
      expect(report.lastSeq).toBeGreaterThanOrEqual(400);
      expect(report.duplicates).toBe(0);
      expect(report.inOrder).toBe(true);
      // The exact sum, per epoch: up to lastSeq of the first (from tick 0), then from rejoinedAt in
      // the second; every tick in between taken or counted missed, the rest of the first unknown.
      expect(report.ticks + report.missed).toBe(
        reset.lastSeq - report.joinedAt + (report.lastSeq - report.rejoinedAt),
      );
    } finally {
      await ticker.stop();
    }
  }, 60_000);
});
