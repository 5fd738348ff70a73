/**
 * The Redis fan-out benchmark case, small: it runs to the end, every one of its 200 receivers gets
 * every message in order (the case throws otherwise), and its figures are figures. Speed itself is
 * never asserted here. The case's redis-server is a child of this process, killed at the end.
 */
import { afterAll, expect, it } from "vitest";
import { redisFanout } from "../../bench/cases/redis-fanout.js";
import { killChildren } from "../support/processes.js";
import { describeWithRedis } from "../support/redis.js";

describeWithRedis("the redis fan-out benchmark case", () => {
  afterAll(killChildren);

  it("delivers 300 messages to each of 200 receivers, in order, and reports a rate and latencies", async () => {
    const r = await redisFanout({ receivers: 200, messages: 300 });
    expect(r.rate).toBeGreaterThan(0);
    expect(r.p50).toBeGreaterThan(0);
    expect(r.p99).toBeGreaterThanOrEqual(r.p50);
  }, 30_000);
});
