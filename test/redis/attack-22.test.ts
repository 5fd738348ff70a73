/**
 * Hostile writers and hostile resumers against the Redis feed (issue 22): each test fails when the
 * library loses, duplicates or invents values without a count, or loops, hangs or crashes.
 */

import { Metadata } from "@grpc/grpc-js";
import { channel, Lagged } from "grpc-mpsc";
import {
  FEED_EPOCH_METADATA_KEY,
  resumeBroadcast,
  resumeMetadata,
  resumePointFromMetadata,
} from "grpc-mpsc/grpc";
import type { RedisFeed, RedisFeedEvent } from "grpc-mpsc/redis";
import { expect, it } from "vitest";
import { describeWithRedis } from "../support/redis.js";
import { redisFeedFixture, take } from "../support/redis-feed.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeWithRedis("attack-22: hostile entries in the stream", () => {
  const suite = redisFeedFixture("attack22");
  const { key, open, raw } = suite;

  it("one foreign entry (XADD *) carrying an `e` field of another epoch does not make the feed reset for ever", async () => {
    const k = key();
    const events: RedisFeedEvent[] = [];
    const feed = await open<string>({ key: k, capacity: 8, blockMs: 50, onEvent: (e) => events.push(e) });
    const rx = feed.subscribe();
    expect(await feed.publish("a")).toBe(1);
    expect(await feed.publish("b")).toBe(2);
    expect(await take(rx, 2)).toEqual(["a", "b"]);
    await raw([["XADD", k, "*", "v", '"x"', "e", "spoofedepoch"]]);
    await sleep(500);
    const resets = feed.metrics().resets;
    // At most one reset for one foreign entry (ideally none: the entry is foreign by its ID).
    expect(resets).toBeLessThanOrEqual(1);
  });

  it("a refill that spans a reset of the stream does not hand the client the new epoch's values under the old numbers", async () => {
    const k = key();
    const feed = await open<string>({ key: k, capacity: 4, replay: 4, maxLen: 100_000, blockMs: 50 });
    for (let i = 1; i < 600; i++) void feed.publish(`a${i}`);
    await feed.publish("a600");
    for (let t = 0; t < 100 && feed.nextSeq < 601; t++) await sleep(20);
    expect(feed.nextSeq).toBe(601);
    const epochA = feed.epoch;
    const [tx, rx] = channel<string>(1);
    let lagged = 0;
    const served = resumeBroadcast(feed, resumeMetadata({ lastSeq: 0, epoch: epochA }), tx, {
      onLag: (m) => {
        lagged += m;
      },
    }).then(
      (r) => `ok ${r.ended}`,
      (e: Error) => `rejected ${e.message}`,
    );
    const got: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await rx.recv();
      if (r !== undefined) got.push(r);
    }
    // The stream is deleted and written again from 1 by a new publisher: a new epoch.
    await raw([["DEL", k]]);
    const pub2 = await open<string>({ key: k, capacity: 4, maxLen: 100_000 });
    expect(pub2.epoch).not.toBe(epochA);
    for (let i = 1; i < 600; i++) void pub2.publish(`b${i}`);
    await pub2.publish("b600");
    for (let t = 0; t < 150 && feed.epoch === epochA; t++) await sleep(20);
    expect(feed.epoch).not.toBe(epochA);
    for (;;) {
      const r = await Promise.race([rx.recv(), sleep(3000).then(() => "timeout" as const)]);
      if (r === undefined || r === "timeout") break;
      got.push(r);
    }
    const outcome = await served;
    const foreign = got.filter((v) => v.startsWith("b"));
    // Every value the client got under epoch A's numbers must be one of epoch A.
    expect({ foreign: foreign.length, firstForeign: foreign[0], outcome, lagged }).toEqual(
      expect.objectContaining({ foreign: 0 }),
    );
  }, 20_000);

  it("an XADD * entry that copies the feed's epoch (sent to every client in mpsc-feed-epoch) is skipped as foreign, not a gap of a trillion values", async () => {
    const k = key();
    const feed = await open<string>({ key: k, capacity: 8, blockMs: 50 });
    const rx = feed.subscribe();
    expect(await feed.publish("a")).toBe(1);
    expect(await take(rx, 1)).toEqual(["a"]);
    await raw([["XADD", k, "*", "v", '"x"', "e", feed.epoch]]);
    // The reader skips it as foreign (its ID is Redis's own), whatever its fields: no gap, no made-up
    // sequence number. The publisher does not delete another writer's entry: Redis refuses its next
    // ID below it, and the publish says so (one publisher per stream, docs/fanout-resume.md).
    const next = await feed.publish("b").then(
      (seq) => `resolved ${seq}`,
      (e: Error) => `rejected ${/^Redis refused sequence number 2 of stream /.test(e.message)}`,
    );
    const first = await rx.recv({ signal: AbortSignal.timeout(300) }).catch(() => "nothing");
    expect({
      first: first instanceof Lagged ? `lagged ${first.missed}` : String(first),
      nextSeq: feed.nextSeq,
      gaps: feed.metrics().gaps,
      foreign: feed.metrics().foreignSkipped,
      next,
    }).toEqual({
      first: "nothing",
      nextSeq: 2,
      gaps: 0,
      foreign: 1,
      next: "rejected true",
    });
  });

  it("a server whose stream was empty at start does not tell clients an epoch the stream never had", async () => {
    const k = key();
    const publisher = await open<string>({ key: k, capacity: 8, blockMs: 50 });
    const server2 = await open<string>({ key: k, capacity: 8, blockMs: 50 }); // stream still empty
    let header: string | undefined;
    const [tx, rx] = channel<string>(8);
    const ctx = {
      metadata: new Metadata(),
      sendMetadata: (md: Metadata) => {
        header = md.get(FEED_EPOCH_METADATA_KEY)[0] as string;
      },
    };
    const ac = new AbortController();
    const served = resumeBroadcast(server2, ctx, tx, { signal: ac.signal, map: (v, seq) => `${seq}:${v}` });
    for (const v of ["a", "b", "c"]) await publisher.publish(v);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push((await rx.recv()) as string);
    expect(got).toEqual(["1:a", "2:b", "3:c"]);
    ac.abort();
    await served;
    // The client kept (lastSeq 3, header) and resumes on the publisher's process.
    const resets: unknown[] = [];
    const [tx2, rx2] = channel<string>(8);
    const ac2 = new AbortController();
    const again = resumeBroadcast(publisher, resumeMetadata({ lastSeq: 3, epoch: header as string }), tx2, {
      signal: ac2.signal,
      map: (v, seq) => `${seq}:${v}`,
      onReset: (r) => resets.push(r),
    });
    await sleep(200);
    const dup: string[] = [];
    for (let r = rx2.tryRecv(); r.ok; r = rx2.tryRecv()) dup.push(r.value);
    ac2.abort();
    await again;
    expect({ header, epoch: publisher.epoch, resets: resets.length, dup }).toEqual({
      header: publisher.epoch,
      epoch: publisher.epoch,
      resets: 0,
      dup: [],
    });
  });

  it("two publishers started on one empty key: the readers do not reset in a loop", async () => {
    const k = key();
    const a = await open<string>({ key: k, capacity: 8, blockMs: 50 });
    const b = await open<string>({ key: k, capacity: 8, blockMs: 50 });
    const reader = await open<string>({ key: k, capacity: 8, blockMs: 50 });
    expect(await a.publish("a1")).toBe(1);
    const second = await b.publish("b1").then(String, (e: Error) => e.message.slice(0, 40));
    const third = await b.publish("b2").then(String, (e: Error) => e.message.slice(0, 40));
    await sleep(500);
    expect({ second, third, resets: reader.metrics().resets }).toEqual(
      expect.objectContaining({ resets: expect.any(Number) }),
    );
    expect(reader.metrics().resets, JSON.stringify({ second, third })).toBeLessThanOrEqual(1);
  });

  /** Waits (bounded) until `check()` holds. */
  const until = async (check: () => boolean, what: string, ms = 10_000): Promise<void> => {
    for (const t0 = Date.now(); !check(); await sleep(20))
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
  };

  /** A client resuming from (lastSeq, epoch) on `feed` through resumeBroadcast: the header, resets and the first `n` responses. */
  const resumeOn = async (
    feed: RedisFeed<string>,
    lastSeq: number,
    epoch: string,
    n: number,
  ): Promise<{ header: string | undefined; resets: number; got: string[] }> => {
    let header: string | undefined;
    let resets = 0;
    const [tx, rx] = channel<string>(16);
    const ac = new AbortController();
    const ctx = {
      metadata: resumeMetadata({ lastSeq, epoch }),
      sendMetadata: (md: Metadata) => {
        header = md.get(FEED_EPOCH_METADATA_KEY)[0] as string;
      },
    };
    const served = resumeBroadcast(feed, ctx, tx, {
      signal: ac.signal,
      map: (v, seq) => `${seq}:${v}`,
      onLag: (m, seq) => {
        tx.trySend(`lag ${m} to ${seq}`);
      },
      onReset: () => {
        resets++;
      },
    }).catch((e: Error) => e);
    const got: string[] = [];
    const signal = AbortSignal.timeout(5000);
    while (got.length < n) {
      const r = await rx.recv({ signal }).catch(() => "timeout");
      if (r === undefined || r === "timeout") {
        got.push(String(r));
        break;
      }
      got.push(r);
    }
    ac.abort();
    await served;
    return { header, resets, got };
  };

  /** Publishes v1..v8, saves Redis's snapshot (SAVE: dump.rdb has 1..8), then publishes v9 and v10. */
  const tenSavedAtEight = async (pub: RedisFeed<string>): Promise<void> => {
    for (let i = 1; i <= 8; i++) await pub.publish(`v${i}`);
    await raw([["SAVE"]]);
    await pub.publish("v9");
    await pub.publish("v10");
  };

  /** The publisher's machine goes down with Redis, which comes back from dump.rdb (1..8, last ID 8-0). */
  const crash = async (pub: RedisFeed<string>): Promise<void> => {
    await pub.close();
    await suite.redis.kill();
    await suite.redis.start();
  };

  // F5. Redis with RDB persistence and no AOF (Debian's default) comes back from a crash with what
  // it had at its last save: entries it acknowledged, that readers delivered, are gone. A publisher
  // restarted too cannot know what readers read beyond the stream's top, so it does not number on
  // under the same epoch (its 9 and 10 would be other values than the readers' 9 and 10): the top
  // entry was written into an earlier Redis run (`r`), so it starts a new epoch from 9. Every
  // process resets to it, whether it had read 9 and 10 or not, and agrees on what (epoch, seq) means.
  it("Redis restarting from an older snapshot (the last writes lost) with a restarted publisher: no new value lost uncounted", async () => {
    const k = key();
    const pub = await open<string>({ key: k, capacity: 16, blockMs: 50 });
    const eventsA: RedisFeedEvent[] = [];
    const reader = await open<string>({ key: k, capacity: 16, blockMs: 50, onEvent: (e) => eventsA.push(e) });
    const rx = reader.subscribe();
    await tenSavedAtEight(pub);
    expect(await take(rx, 10)).toEqual(["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10"]);
    const epoch1 = reader.epoch;
    await crash(pub);
    // The reader, back, sees the stream below what it delivered: reported and counted.
    await until(() => eventsA.some((e) => e.type === "rollback"), "the rollback event");
    expect(eventsA.filter((e) => e.type === "rollback")).toEqual([
      { type: "rollback", seq: 8, delivered: 10 },
    ]);
    // Another server process, started now: it has read 1..8 only (never the lost 9 and 10).
    const eventsB: RedisFeedEvent[] = [];
    const other = await open<string>({ key: k, capacity: 16, blockMs: 50, onEvent: (e) => eventsB.push(e) });
    const rxOther = other.subscribe();
    expect(await take(rxOther, 8)).toEqual(["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"]);
    expect(other.epoch).toBe(epoch1);
    const pub2 = await open<string>({ key: k, capacity: 16, blockMs: 50 });
    const seqs: number[] = [];
    for (const v of ["n9", "n10", "n11"]) seqs.push(await pub2.publish(v));
    expect(seqs).toEqual([9, 10, 11]);
    // Both readers reset to the new epoch: their receivers end (calls end ABORTED), nothing is
    // handed out under the old numbers.
    expect(await take(rx, 1)).toEqual([]);
    expect(await take(rxOther, 1)).toEqual([]);
    await until(
      () => reader.epoch !== epoch1 && other.epoch !== epoch1 && pub2.epoch !== epoch1,
      "the resets",
    );
    const epoch2 = pub2.epoch;
    expect({ reader: reader.epoch, other: other.epoch }).toEqual({ reader: epoch2, other: epoch2 });
    for (const feed of [reader, other]) {
      const again = feed.subscribe({ from: 9 });
      expect(await take(again, 3)).toEqual(["n9", "n10", "n11"]);
      expect(again.lastSeq).toBe(11);
    }
    expect(eventsA.filter((e) => e.type === "reset")).toEqual([
      { type: "reset", previousEpoch: epoch1, epoch: epoch2, from: 9 },
    ]);
    expect(eventsB.filter((e) => e.type === "reset")).toEqual([
      { type: "reset", previousEpoch: epoch1, epoch: epoch2, from: 9 },
    ]);
    expect(eventsB.some((e) => e.type === "rollback" || e.type === "gap")).toBe(false);
    const m = reader.metrics();
    expect({ resets: m.resets, rollbacks: m.rollbacks, gaps: m.gaps, lagged: m.lagged }).toEqual({
      resets: 1,
      rollbacks: 1,
      gaps: 0,
      lagged: 0,
    });
    expect(other.metrics()).toEqual(expect.objectContaining({ resets: 1, rollbacks: 0, gaps: 0 }));
  }, 30_000);

  it("after a rollback and a restarted publisher, clients of either process are reset, never resumed past the new values", async () => {
    const k = key();
    const pub = await open<string>({ key: k, capacity: 16, blockMs: 50 });
    const reader = await open<string>({ key: k, capacity: 16, blockMs: 50 });
    await tenSavedAtEight(pub);
    await until(() => reader.nextSeq === 11, "the reader at 10");
    const epoch1 = reader.epoch;
    // A client of this process got 1..10, another got 1..8.
    const ahead = await resumeOn(reader, 8, epoch1, 2);
    expect(ahead).toEqual({ header: epoch1, resets: 0, got: ["9:v9", "10:v10"] });
    await crash(pub);
    const other = await open<string>({ key: k, capacity: 16, blockMs: 50 });
    const pub2 = await open<string>({ key: k, capacity: 16, blockMs: 50 });
    for (const v of ["n9", "n10", "n11"]) await pub2.publish(v);
    await until(() => reader.epoch !== epoch1 && other.epoch !== epoch1, "the resets");
    await until(() => reader.nextSeq === 12 && other.nextSeq === 12, "both readers at 11");
    const epoch2 = reader.epoch;
    // The client that had v9 and v10 comes to the process that never read them, and to the one
    // that did: (epoch1, 10) is no longer the stream's, so it is reset (told, and the header says
    // the new epoch), and gets n9, n10, n11: not resumed after 10, which would skip n9 and n10.
    const every = ["9:n9", "10:n10", "11:n11"];
    for (const feed of [other, reader]) {
      expect(await resumeOn(feed, 10, epoch1, 3)).toEqual({ header: epoch2, resets: 1, got: every });
      expect(await resumeOn(feed, 8, epoch1, 3)).toEqual({ header: epoch2, resets: 1, got: every });
      // A client of the new epoch resumes as ever; one that reset and got nothing yet lags nothing.
      expect(await resumeOn(feed, 9, epoch2, 2)).toEqual({ header: epoch2, resets: 0, got: every.slice(1) });
      expect(await resumeOn(feed, 0, epoch2, 3)).toEqual({ header: epoch2, resets: 0, got: every });
    }
  }, 30_000);

  it("a publisher restarted while Redis kept running goes on under the same epoch: no reset", async () => {
    const k = key();
    const pub = await open<string>({ key: k, capacity: 16, blockMs: 50 });
    const events: RedisFeedEvent[] = [];
    const reader = await open<string>({ key: k, capacity: 16, blockMs: 50, onEvent: (e) => events.push(e) });
    const rx = reader.subscribe();
    for (const v of ["a", "b"]) await pub.publish(v);
    await pub.close();
    const pub2 = await open<string>({ key: k, capacity: 16, blockMs: 50 });
    expect(await pub2.publish("c")).toBe(3);
    expect(await take(rx, 3)).toEqual(["a", "b", "c"]);
    await sleep(200);
    expect({ epoch: pub2.epoch, resets: reader.metrics().resets, events: events.length }).toEqual({
      epoch: reader.epoch,
      resets: 0,
      events: 0,
    });
  });

  it("a feed closed while a call is refilling from the stream does not report the values still in Redis as lost", async () => {
    const k = key();
    const feed = await open<string>({ key: k, capacity: 4, replay: 4, maxLen: 100_000, blockMs: 50 });
    for (let i = 1; i < 600; i++) void feed.publish(`a${i}`);
    await feed.publish("a600");
    for (let t = 0; t < 100 && feed.nextSeq < 601; t++) await sleep(20);
    const [tx, rx] = channel<string>(1);
    const lags: [number, number][] = [];
    const served = resumeBroadcast(feed, resumeMetadata({ lastSeq: 0, epoch: feed.epoch }), tx, {
      onLag: (m, seq) => {
        lags.push([m, seq]);
      },
    }).then(
      (r) => `ok ${r.ended} sent ${r.sent} missed ${r.missed}`,
      (e: Error) => `rejected ${e.message}`,
    );
    for (let i = 0; i < 10; i++) await rx.recv();
    const closing = feed.close(); // the server shuts down; the client will resume elsewhere
    for (;;) {
      const r = await Promise.race([rx.recv(), sleep(3000).then(() => "timeout" as const)]);
      if (r === undefined || r === "timeout") break;
    }
    await closing;
    const outcome = await Promise.race([served, sleep(3000).then(() => "hang")]);
    // Every value 1..600 is still in the stream: none of them was lost.
    expect({ lags, outcome }).toEqual(expect.objectContaining({ lags: [] }));
  }, 20_000);

  it("a publisher restarted on a stream emptied by XTRIM MAXLEN 0 can publish", async () => {
    const k = key();
    const pub = await open<string>({ key: k, capacity: 8, blockMs: 50 });
    for (let i = 1; i <= 5; i++) await pub.publish(`v${i}`);
    await pub.close();
    await raw([["XTRIM", k, "MAXLEN", "0"]]); // the key stays, its last ID is 5-0
    const pub2 = await open<string>({ key: k, capacity: 8, blockMs: 50 });
    const outcomes: string[] = [];
    for (let i = 1; i <= 6; i++) {
      outcomes.push(
        await pub2.publish(`x${i}`).then(
          (seq) => `resolved ${seq}`,
          (e: Error) => `rejected ${/^Redis refused sequence number 2 of stream /.test(e.message)}`,
        ),
      );
    }
    expect(
      outcomes.filter((o) => o.startsWith("rejected")),
      outcomes.join("; "),
    ).toEqual([]);
  });

  it("malformed resume metadata is always INVALID_ARGUMENT, never accepted or another error", () => {
    const bad: [string, string[]][] = [
      ["mpsc-resume-from", [""]],
      ["mpsc-resume-from", [" 1"]],
      ["mpsc-resume-from", ["-1"]],
      ["mpsc-resume-from", ["1e3"]],
      ["mpsc-resume-from", ["0x10"]],
      ["mpsc-resume-from", ["9007199254740992"]],
      ["mpsc-resume-from", ["9".repeat(5000)]],
      ["mpsc-resume-from", ["1", "1"]],
      ["mpsc-resume-epoch", ["abc"]],
    ];
    for (const [k, values] of bad) {
      const md = new Metadata();
      for (const v of values) md.add(k, v);
      let code: unknown = "accepted";
      try {
        resumePointFromMetadata(md);
      } catch (e) {
        code = (e as { code?: unknown }).code;
      }
      expect(code, `${k}=${JSON.stringify(values).slice(0, 40)}`).toBe(3);
    }
    for (const epoch of ["a b", "x".repeat(65), "a,b", "a.b"]) {
      const md = new Metadata();
      md.set("mpsc-resume-from", "1");
      md.set("mpsc-resume-epoch", epoch);
      expect(() => resumePointFromMetadata(md)).toThrow(/INVALID_ARGUMENT|mpsc-resume-epoch/);
    }
  });

  it("a resume point between the stream's trim and the ring: exact count, then every value once and in order", async () => {
    const k = key();
    const feed = await open<string>({ key: k, capacity: 4, replay: 4, maxLen: 100_000, blockMs: 50 });
    for (let i = 1; i < 600; i++) void feed.publish(String(i));
    await feed.publish("600");
    for (let t = 0; t < 100 && feed.nextSeq < 601; t++) await sleep(20);
    await raw([["XTRIM", k, "MAXLEN", "301"]]); // Redis keeps 300..600
    const [tx, rx] = channel<string>(1);
    const got: string[] = [];
    const served = resumeBroadcast(feed, resumeMetadata({ lastSeq: 100, epoch: feed.epoch }), tx, {
      map: (v, seq) => `${seq}=${v}`,
      onLag: (m, seq) => {
        got.push(`lag ${m} to ${seq}`);
      },
    });
    let live = 600;
    for (;;) {
      const r = await Promise.race([rx.recv(), sleep(1500).then(() => "timeout" as const)]);
      if (r === undefined || r === "timeout") break;
      got.push(r);
      if (got.length === 150 && live < 610) for (; live < 610; ) void feed.publish(String(++live)); // live values during the refill
    }
    await feed.close();
    await served.catch(() => undefined);
    const expected = ["lag 199 to 299"];
    for (let i = 300; i <= 610; i++) expected.push(`${i}=${i}`);
    expect(got.join(",")).toBe(expected.join(","));
  }, 20_000);

  it("XTRIM while a stalled client's refill pages: exact count, every value once and in order", async () => {
    const k = key();
    const feed = await open<string>({ key: k, capacity: 4, replay: 4, maxLen: 100_000, blockMs: 50 });
    for (let i = 1; i < 600; i++) void feed.publish(String(i));
    await feed.publish("600");
    for (let t = 0; t < 100 && feed.nextSeq < 601; t++) await sleep(20);
    const [tx, rx] = channel<string>(1);
    const got: string[] = [];
    const served = resumeBroadcast(feed, resumeMetadata({ lastSeq: 0, epoch: feed.epoch }), tx, {
      map: (v, seq) => `${seq}=${v}`,
      onLag: (m, seq) => {
        got.push(`lag ${m} to ${seq}`);
      },
    });
    for (let i = 0; i < 10; i++) got.push((await rx.recv()) as string);
    await raw([["XTRIM", k, "MAXLEN", "100"]]); // Redis keeps 501..600
    for (;;) {
      const r = await Promise.race([rx.recv(), sleep(1500).then(() => "timeout" as const)]);
      if (r === undefined || r === "timeout") break;
      got.push(r);
    }
    await feed.close();
    await served.catch(() => undefined);
    const expected: string[] = [];
    for (let i = 1; i <= 256; i++) expected.push(`${i}=${i}`);
    expected.push("lag 244 to 500");
    for (let i = 501; i <= 600; i++) expected.push(`${i}=${i}`);
    expect(got.join(",")).toBe(expected.join(","));
  }, 20_000);
});
