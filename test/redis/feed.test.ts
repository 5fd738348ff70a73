/**
 * The Redis feed against a real redis-server (Debian's, on a free loopback port): what a receiver
 * of a process sees when values are published, when it starts late, when the stream is trimmed
 * before the process reads it, when Redis restarts empty, and when it is given bad input.
 */

import { type RedisFeedEvent, redisFeed } from "grpc-mpsc/redis";
import { expect, it } from "vitest";
import { describeWithRedis } from "../support/redis.js";
import { redisFeedFixture, take } from "../support/redis-feed.js";

describeWithRedis("redisFeed on a real redis-server", () => {
  const suite = redisFeedFixture("feed-test");
  const { key, open, raw } = suite;

  it("a value published by one process reaches the receivers of another, with the stream ID as its sequence number and the epoch in the entry", async () => {
    const k = key();
    const publisher = await open<string>({ key: k, capacity: 8 });
    const server = await open<string>({ key: k, capacity: 8 });
    const rx = server.subscribe();
    expect(await publisher.publish("a")).toBe(1);
    expect(await publisher.publish("b")).toBe(2);
    expect(await take(rx, 2)).toEqual(["a", "b"]);
    expect(rx.lastSeq).toBe(2);
    const [ids, info] = await raw([
      ["XRANGE", k, "-", "+"],
      ["INFO", "server"],
    ]);
    // `r`: the Redis run the entry was written into (the start of its run_id).
    const run = /run_id:([0-9a-f]{16})/.exec(String(info))?.[1];
    expect(run).toMatch(/^[0-9a-f]{16}$/);
    expect(ids).toEqual([
      ["1-0", ["v", '"a"', "e", publisher.epoch, "r", run]],
      ["2-0", ["v", '"b"', "e", publisher.epoch, "r", run]],
    ]);
    expect(publisher.epoch).toMatch(/^[0-9a-f]{32}$/);
    expect(server.epoch).toBe(publisher.epoch); // it adopted the epoch of the stream's first writer
  });

  it("a process that starts late replays the latest entries, and resumes from any held sequence number", async () => {
    const k = key();
    const publisher = await open<number>({ key: k, capacity: 4 });
    for (let i = 1; i <= 6; i++) await publisher.publish(i * 10);
    const late = await open<number>({ key: k, capacity: 4, replay: 3 });
    expect(late.nextSeq).toBe(7);
    expect(await take(late.subscribe(), 3)).toEqual(["40", "50", "60"]);
    expect(await take(late.subscribe({ from: 5 }), 2)).toEqual(["50", "60"]);
    // 1..3 are in Redis but not in this process's ring: one counted gap, then what it holds.
    expect(await take(late.subscribe({ from: 1 }), 6)).toEqual(["lagged 3", "40", "50", "60"]);
  });

  it("the publisher's sequence numbers go on from the stream's top, across publisher restarts", async () => {
    const k = key();
    const first = await open<string>({ key: k, capacity: 4 });
    await first.publish("x");
    await first.close();
    const second = await open<string>({ key: k, capacity: 4 });
    expect(await second.publish("y")).toBe(2);
  });

  it("a process that falls behind the stream's trim hands its receivers the exact count lost", async () => {
    const k = key();
    const events: RedisFeedEvent[] = [];
    const server = await open<number>({ key: k, capacity: 4, onEvent: (e) => events.push(e) });
    const rx = server.subscribe();
    // Another writer appends 100 entries with exact trimming to 10 in one MULTI: Redis runs it whole,
    // so the reader, blocked on this stream, finds only the last 10 when it reads again.
    await raw(
      Array.from({ length: 100 }, (_, j) => [
        "XADD",
        k,
        "MAXLEN",
        "=",
        "10",
        `${j + 1}-0`,
        "v",
        String(j + 1),
      ]),
      true,
    );
    const got = await take(rx, 100);
    // Whatever the reader caught, values plus counted gaps make exactly 100, in order.
    let expected = 1;
    for (const g of got) {
      if (g.startsWith("lagged ")) expected += Number(g.slice(7));
      else expect(Number(g)).toBe(expected++);
    }
    expect(expected).toBe(101);
    expect(got.at(-1)).toBe("100");
    expect(got.some((g) => g.startsWith("lagged"))).toBe(true);
    expect(events.some((e) => e.type === "gap")).toBe(true);
  });

  it("a receiver that does not read lags locally with the exact count: the process holds its ring, no more", async () => {
    const k = key();
    const server = await open<number>({ key: k, capacity: 4 });
    const rx = server.subscribe();
    const publisher = await open<number>({ key: k, capacity: 4, replay: 0 });
    for (let i = 1; i <= 50; i++) await publisher.publish(i);
    for (let i = 0; i < 400 && server.nextSeq < 51; i++) await new Promise((r) => setTimeout(r, 5));
    expect(server.nextSeq).toBe(51); // the reader went on: one slow receiver holds nothing back
    expect(await take(rx, 50)).toEqual(["lagged 46", "47", "48", "49", "50"]);
    // Redis keeps about maxLen entries (4 * capacity by default); this process only ever held its 4.
  });

  it("a Redis restart is reported, reading and publishing resume, and what it lost is a counted gap", async () => {
    const k = key();
    const events: RedisFeedEvent[] = [];
    const options = {
      key: k,
      capacity: 16,
      blockMs: 200,
      client: { socket: { reconnectStrategy: () => 50 } },
      onEvent: (e: RedisFeedEvent) => events.push(e),
    };
    const publisher = await open<number>(options);
    const server = await open<number>(options);
    const rx = server.subscribe();
    await publisher.publish(1);
    expect(await take(rx, 1)).toEqual(["1"]);
    await suite.redis.kill();
    // Published while Redis is down: it waits, retried, and is not lost.
    const during = publisher.publish(2);
    await new Promise((r) => setTimeout(r, 300));
    await suite.redis.start();
    expect(await during).toBe(2);
    await publisher.publish(3);
    expect(await take(rx, 2, 8000)).toEqual(["2", "3"]);
    expect(events.some((e) => e.type === "error")).toBe(true);
    expect(events.some((e) => e.type === "ready")).toBe(true);
    // Each connection's reconnections, and their sum.
    const m = publisher.metrics();
    expect(m.readerReconnects).toBeGreaterThanOrEqual(1);
    expect(m.writerReconnects).toBeGreaterThanOrEqual(1);
    expect(m.reconnects).toBe(m.readerReconnects + m.writerReconnects);
  }, 20_000);

  it("metrics: len counts what receivers have yet to read, held what the ring holds (a full replay window)", async () => {
    const feed = await open<string>({ key: key(), capacity: 8 });
    for (let i = 1; i <= 8; i++) await feed.publish(`v${i}`);
    const rx = feed.subscribe({ from: 1 });
    await take(rx, 8);
    expect(feed.metrics()).toMatchObject({ len: 0, held: 8 });
    await feed.publish("v9");
    for (let t = 0; t < 250 && feed.nextSeq < 10; t++) await new Promise((r) => setTimeout(r, 20));
    expect(feed.metrics()).toMatchObject({ len: 1, held: 8 });
  });

  it("entries lost in a restart before a process read them are one Lagged with their count", async () => {
    const k = key();
    const server = await open<number>({
      key: k,
      capacity: 16,
      client: { socket: { reconnectStrategy: () => 50 } },
    });
    const rx = server.subscribe();
    const publisher = await open<number>({
      key: k,
      capacity: 16,
      client: { socket: { reconnectStrategy: () => 50 } },
    });
    await publisher.publish(1);
    expect(await take(rx, 1)).toEqual(["1"]);
    // Redis restarts empty, and the publisher's next value is 5: entries 2..4 were lost with the old
    // stream before this process read them (as when they were written just before the crash).
    await suite.redis.kill();
    await suite.redis.start();
    await raw([["XADD", k, "5-0", "v", "5", "e", publisher.epoch]]);
    expect(await take(rx, 4, 8000)).toEqual(["lagged 3", "5"]);
  }, 20_000);

  it("an entry it cannot decode is a counted gap and a bad-entry event, never a silent one", async () => {
    const k = key();
    const events: RedisFeedEvent[] = [];
    const server = await open<number>({ key: k, capacity: 8, onEvent: (e) => events.push(e) });
    const rx = server.subscribe();
    await raw([
      ["XADD", k, "1-0", "v", "{not json"],
      ["XADD", k, "2-0", "v", "2"],
    ]);
    expect(await take(rx, 2)).toEqual(["lagged 1", "2"]);
    expect(events.filter((e) => e.type === "bad-entry").map((e) => (e as { id: string }).id)).toEqual([
      "1-0",
    ]);
  });

  it("a listener that throws does not stop the feed", async () => {
    const k = key();
    const server = await open<number>({
      key: k,
      capacity: 8,
      onEvent: () => {
        throw new Error("listener bug");
      },
    });
    const rx = server.subscribe();
    await raw([
      ["XADD", k, "1-0", "nov", "x"],
      ["XADD", k, "2-0", "v", "2"],
    ]);
    expect(await take(rx, 2)).toEqual(["lagged 1", "2"]);
  });

  it("close ends the receivers after what they hold, and a publish after it gives the value back", async () => {
    const k = key();
    const feed = await open<string>({ key: k, capacity: 4 });
    const rx = feed.subscribe();
    await feed.publish("a");
    await take(rx, 1);
    await feed.close();
    expect(await rx.recv()).toBeUndefined();
    await expect(feed.publish("b")).rejects.toMatchObject({ name: "SendError", value: "b" });
  });

  it("a value whose number a later value of the feed took first is rejected, never resolved as written", async () => {
    const k = key();
    const feed = await open<string>({ key: k, capacity: 4 });
    expect(await feed.publish("a")).toBe(1);
    const [info] = await raw([["INFO", "server"]]);
    const run = /run_id:([0-9a-f]{16})/.exec(String(info))?.[1] ?? "";
    // As if the XADD of 3 had reached Redis before the one of 2 (a batch split by a lost connection).
    await raw([["XADD", k, "3-0", "v", '"c"', "e", feed.epoch, "r", run]]);
    const [b, c] = await Promise.allSettled([feed.publish("b"), feed.publish("c")]);
    expect(b).toMatchObject({
      status: "rejected",
      reason: { message: expect.stringContaining("never got sequence number 2") },
    });
    expect(c).toEqual({ status: "fulfilled", value: 3 });
  });

  it("close with publishes in flight rejects them with SendError and reports no error event", async () => {
    const k = key();
    const events: RedisFeedEvent[] = [];
    const feed = await open<number>({ key: k, capacity: 4, onEvent: (e) => events.push(e) });
    await feed.publish(0); // connected and writing: the next ones go out as a batch
    const pending = Array.from({ length: 200 }, (_, i) => feed.publish(i + 1));
    await new Promise((resolve) => setImmediate(resolve)); // the batch's XADDs are in flight
    await feed.close();
    const outcomes = await Promise.allSettled(pending);
    for (const o of outcomes) {
      if (o.status === "rejected") expect(o.reason).toMatchObject({ name: "SendError" });
    }
    expect(outcomes.some((o) => o.status === "rejected")).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100)); // where a late report would land
    expect(events.filter((e) => e.type === "error")).toEqual([]);
  });

  it.each([
    [{ capacity: 0 }, "Expected `capacity` to be an integer from 1 to 1073741824, got 0"],
    [{ capacity: 4, replay: 5 }, "Expected `replay` to be an integer from 0 to 4, got 5"],
    [{ capacity: 4, maxLen: 2 }, "Expected `maxLen` to be an integer from 4 up, got 2"],
    [{ capacity: 4, blockMs: 0 }, "Expected `blockMs` to be an integer from 1 up, got 0"],
  ])("bad options are refused before connecting: %j", async (bad, message) => {
    await expect(redisFeed({ key: "k", ...bad, client: { url: suite.redis.url } })).rejects.toThrow(
      new RangeError(message),
    );
  });

  it("a feed that cannot reach Redis at start rejects, and leaves nothing running", async () => {
    await expect(
      redisFeed({
        key: "k",
        capacity: 4,
        client: { url: "redis://127.0.0.1:1", socket: { reconnectStrategy: false } },
      }),
    ).rejects.toThrow();
  });
});
