/**
 * The Redis feed when its stream is not the one it was: deleted under a live feed and written again
 * from 1 (a reset, reported, never a silent wait), foreign entries among its own (skipped and
 * counted), and a client resuming from further back than the ring but within the stream (refilled
 * from it, no Lagged); with the figures `metrics()` gives for each.
 */

import { status } from "@grpc/grpc-js";
import {
  feedEpochOf,
  type GrpcError,
  resumeBroadcast,
  resumeMetadata,
  serverStreamCall,
  serveServerStream,
} from "grpc-mpsc/grpc";
import type { RedisFeed, RedisFeedEvent } from "grpc-mpsc/redis";
import { expect, it } from "vitest";
import { outcome } from "../support/async.js";
import { harnessPerTest, type Msg } from "../support/grpc.js";
import { describeWithRedis } from "../support/redis.js";
import { redisFeedFixture, take } from "../support/redis-feed.js";

describeWithRedis("redisFeed: resets, foreign entries, refill", () => {
  const suite = redisFeedFixture("resume-test");
  const { key, open, raw } = suite;
  const { start, client } = harnessPerTest();

  /** Serves `feed` resumably: `{ n: seq, text: value }`, a gap as `{ n: seq, text: "missed N" }`. */
  async function serve(feed: RedisFeed<string>): Promise<void> {
    await start({
      count: serveServerStream<Msg, Msg>(async (_req, responses, ctx) => {
        await resumeBroadcast(feed, ctx, responses, {
          signal: ctx.signal,
          map: (text, seq) => ({ n: seq, text }),
          onLag: (missed, seq) => responses.send({ n: seq, text: `missed ${missed}` }),
        });
      }),
    });
  }

  /** Opens a call resuming from `point` and reads `count` responses as "seq:text". */
  async function resumeFrom(point: { lastSeq: number; epoch: string }, count: number): Promise<string[]> {
    const call = serverStreamCall((r, _m, o) => client().count(r, resumeMetadata(point), o), { n: 0 });
    const got: string[] = [];
    while (got.length < count) {
      const m = await call.rx.recv();
      if (m === undefined) break;
      got.push(`${m.n}:${m.text}`);
    }
    call.cancel();
    return got;
  }

  it("a stream deleted under a live feed and written again from 1 is a reset: receivers end, the new epoch is served", async () => {
    const k = key();
    const events: RedisFeedEvent[] = [];
    const first = await open<string>({ key: k, capacity: 8 });
    const mirror = await open<string>({ key: k, capacity: 8, blockMs: 100, onEvent: (e) => events.push(e) });
    const rx = mirror.subscribe();
    for (const v of ["a", "b", "c"]) await first.publish(v);
    expect(await take(rx, 3)).toEqual(["a", "b", "c"]);
    const before = mirror.epoch;
    expect(before).toBe(first.epoch);
    await first.close();
    await raw([["DEL", k]]);
    const again = await open<string>({ key: k, capacity: 8 }); // a new publisher: from 1, a new epoch
    expect(again.epoch).not.toBe(before);
    expect(await again.publish("x")).toBe(1);
    expect(await again.publish("y")).toBe(2);
    // The old receiver ends (within blockMs and the check), instead of waiting for seq 4 silently.
    expect(await take(rx, 1, 3000)).toEqual([]);
    expect(mirror.epoch).toBe(again.epoch);
    expect(events.filter((e) => e.type === "reset")).toEqual([
      { type: "reset", previousEpoch: before, epoch: again.epoch, from: 1 },
    ]);
    expect(await take(mirror.subscribe(), 2)).toEqual(["x", "y"]);
    expect(mirror.metrics()).toMatchObject({ resets: 1, gaps: 0, foreignSkipped: 0 });
  });

  it("over gRPC: a call live through the reset ends ABORTED, and the client's resume with the old epoch is told the new one", async () => {
    const k = key();
    const first = await open<string>({ key: k, capacity: 8 });
    const mirror = await open<string>({ key: k, capacity: 8, blockMs: 100 });
    await serve(mirror);
    for (const v of ["a", "b"]) await first.publish(v);
    const old = first.epoch;
    const call = serverStreamCall(
      (r, _m, o) => client().count(r, resumeMetadata({ lastSeq: 0, epoch: old }), o),
      { n: 0 },
    );
    expect(feedEpochOf(await call.headers)).toBe(old);
    expect([(await call.rx.recv())?.n, (await call.rx.recv())?.n]).toEqual([1, 2]);
    await first.close();
    await raw([["DEL", k]]);
    const again = await open<string>({ key: k, capacity: 8 });
    for (const v of ["x", "y", "z"]) await again.publish(v);
    const ended = await outcome(call.rx.recv());
    expect((ended.error as GrpcError).code).toBe(status.ABORTED);
    // The client comes back with lastSeq 2 of the old epoch: it gets the new one from its first
    // number, and is told so by the header (it never takes 3:z for the value after its 2:b).
    const back = serverStreamCall(
      (r, _m, o) => client().count(r, resumeMetadata({ lastSeq: 2, epoch: old }), o),
      { n: 0 },
    );
    expect(feedEpochOf(await back.headers)).toBe(again.epoch);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await back.rx.recv();
      got.push(`${m?.n}:${m?.text}`);
    }
    back.cancel();
    expect(got).toEqual(["1:x", "2:y", "3:z"]);
  });

  it("a client of the old epoch gets the new one from its first number: beyond the ring, refilled from the stream, nothing skipped", async () => {
    const k = key();
    const first = await open<string>({ key: k, capacity: 8 });
    await first.publish("a");
    const old = first.epoch;
    await first.close();
    await raw([["DEL", k]]);
    const again = await open<string>({ key: k, capacity: 8 });
    for (let i = 1; i <= 20; i++) await again.publish(`b${i}`);
    const mirror = await open<string>({ key: k, capacity: 8, replay: 4 }); // its ring: b13..b20
    await serve(mirror);
    const got = await resumeFrom({ lastSeq: 1, epoch: old }, 20);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `${i + 1}:b${i + 1}`));
  });

  it("foreign entries (XADD *, IDs not n-0) are skipped and counted: values and order intact, no made-up gap", async () => {
    const k = key();
    const events: RedisFeedEvent[] = [];
    const publisher = await open<string>({ key: k, capacity: 8 });
    const mirror = await open<string>({ key: k, capacity: 8, blockMs: 100, onEvent: (e) => events.push(e) });
    const rx = mirror.subscribe();
    await publisher.publish("a");
    await raw([["XADD", k, "1-1", "v", '"foreign"']]);
    await publisher.publish("b");
    await raw([["XADD", k, "2-7", "other", "field"]]);
    await publisher.publish("c");
    await raw([["XADD", k, "*", "v", '"by-time"']]); // <milliseconds>-0, no epoch: not a value 1.8e12
    expect(await take(rx, 4, 1500)).toEqual(["a", "b", "c", "timeout"]);
    const foreign = events.filter((e) => e.type === "foreign").map((e) => (e as { id: string }).id);
    expect(foreign.slice(0, 2)).toEqual(["1-1", "2-7"]);
    expect(foreign).toHaveLength(3);
    expect(events.some((e) => e.type === "gap")).toBe(false);
    expect(mirror.metrics()).toMatchObject({
      capacity: 8,
      receivers: 1,
      entriesRead: 6,
      published: 0,
      gaps: 0,
      lagged: 0,
      foreignSkipped: 3,
      resets: 0,
    });
    expect(publisher.metrics().published).toBe(3);
  });

  it("a resume from further back than the ring but within the stream gets every value from Redis: no Lagged", async () => {
    const k = key();
    const feed = await open<string>({ key: k, capacity: 4, maxLen: 1000 });
    for (let n = 1; n <= 600; n++) await feed.publish(`v${n}`);
    // Its reader reads 600 back after Redis acknowledged it: `from: 600` is refused until then.
    for (let t = 0; t < 250 && feed.nextSeq < 601; t++) await new Promise((r) => setTimeout(r, 20));
    await take(feed.subscribe({ from: 600 }), 1); // read through 600: the ring holds 597..600
    await serve(feed);
    const got = await resumeFrom({ lastSeq: 2, epoch: feed.epoch }, 598);
    expect(got).toEqual(Array.from({ length: 598 }, (_, i) => `${i + 3}:v${i + 3}`));
    // 592 of them (3..594 at least) came from XRANGE, in pages; the ring gave the rest.
    expect(feed.metrics().refilled).toBeGreaterThanOrEqual(592);
    expect(feed.metrics().refilled).toBeLessThanOrEqual(598);
    // The receiver lagged, but what the stream gave back reached the client: nothing was lost.
    expect(feed.metrics().lagged).toBe(0);
  }, 30_000);

  it("a resume from before what the stream keeps counts exactly what neither the stream nor the ring has", async () => {
    const k = key();
    const feed = await open<string>({ key: k, capacity: 4, maxLen: 1000 });
    for (let n = 1; n <= 30; n++) await feed.publish(`v${n}`);
    await raw([["XTRIM", k, "MAXLEN", "=", "20"]]); // the stream keeps 11..30
    for (let t = 0; t < 250 && feed.nextSeq < 31; t++) await new Promise((r) => setTimeout(r, 20));
    await take(feed.subscribe({ from: 30 }), 1);
    await serve(feed);
    const got = await resumeFrom({ lastSeq: 5, epoch: feed.epoch }, 21);
    expect(got).toEqual(["10:missed 5", ...Array.from({ length: 20 }, (_, i) => `${i + 11}:v${i + 11}`)]);
    expect(feed.metrics().lagged).toBe(5); // the 5 lost, not the 16 refilled
  }, 30_000);
});
