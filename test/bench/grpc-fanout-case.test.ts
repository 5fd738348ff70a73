/**
 * The gRPC fan-out case is only worth its figures if it measures what it claims: each implementation
 * runs small, in a process of its own (killed by a timeout), with every client reading and with one
 * stalled. A run throws if a healthy client misses, repeats or reorders a message, or has not got
 * every message published once the window closes; beyond that, the stalled client must really hold
 * its stream back: the naive server keeps queueing for it, grpc-mpsc (on grpc-js or on h2) keeps a
 * bounded backlog, and the drain-honouring publisher stops. Speed itself is never asserted.
 */
import { describe, expect, it } from "vitest";
import { type FanoutParams, fanoutRun } from "../../bench/cases/grpc-fanout.js";
import { grpcFanoutImpls } from "../../bench/cases/impls.js";

/** A gRPC test's bound: a loaded 2-core machine runs these several times slower than an idle one. */
const GRPC_MS = 60_000;
/** 4 KiB messages: a stalled client's buffers (16 messages read, 64 KiB of window) fill within ~40. */
const params: FanoutParams = { streams: 12, size: 4096, window: 8, warmup: 0.2, seconds: 0.5 };
/** What grpc-mpsc may hold for a stalled client: the broadcast's capacity and its responses channel. */
const OURS_MAX_BACKLOG = 2 * params.window + 16;

describe("gRPC fan-out case", () => {
  for (const impl of grpcFanoutImpls) {
    it(
      `${impl}: every healthy client gets every message in order, with none and with one stalled`,
      async () => {
        const none = await fanoutRun(impl, "none", params);
        expect(none.published).toBeGreaterThan(0);
        expect(none.rate).toBeGreaterThan(0);
        expect(Number.isFinite(none.peakMiB)).toBe(true);
        expect(none.behind).toBe(0);
        expect(none.backlog).toBe(0);

        const one = await fanoutRun(impl, "one", params);
        expect(Number.isFinite(one.peakMiB)).toBe(true);
        expect(one.behind).toBe(1); // the stalled client, and only it, did not get everything
        if (impl === "grpc-mpsc" || impl === "h2") {
          expect(one.rate).toBeGreaterThan(0);
          expect(one.backlog).toBeGreaterThan(0);
          expect(one.backlog).toBeLessThanOrEqual(OURS_MAX_BACKLOG);
        } else if (impl === "raw grpc-js (naive Set)") {
          expect(one.rate).toBeGreaterThan(0);
          // Everything published after the stalled client's buffers filled is queued for it.
          expect(one.backlog).toBeGreaterThan(one.published - 100);
        } else {
          // The publisher waits for the stalled client's 'drain', which never comes.
          expect(one.published).toBeLessThan(100);
          expect(one.backlog).toBeGreaterThan(0);
        }
      },
      GRPC_MS,
    );
  }
});
