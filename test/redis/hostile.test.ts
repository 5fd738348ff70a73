/**
 * The Redis feed against hostile streams and hostile timing: entries written by someone else with
 * IDs of Redis's own (`XADD *`), and a Redis that cannot be reached at start.
 */

import { type RedisFeedEvent, redisFeed } from "grpc-mpsc/redis";
import { expect, it } from "vitest";
import { describeWithRedis } from "../support/redis.js";
import { redisFeedFixture, take } from "../support/redis-feed.js";

describeWithRedis("redisFeed against a hostile stream", () => {
  const suite = redisFeedFixture("hostile");
  const { key, open, raw } = suite;

  it("a publish that Redis refuses because a foreign entry sits above it rejects, never resolves unwritten", async () => {
    const k = key();
    const events: RedisFeedEvent[] = [];
    const feed = await open<string>({ key: k, capacity: 8, onEvent: (e) => events.push(e) });
    const rx = feed.subscribe();
    expect(await feed.publish("a")).toBe(1);
    expect(await take(rx, 1)).toEqual(["a"]);
    // Someone else appends with an ID of Redis's own (milliseconds-0): above every seq of the feed.
    await raw([["XADD", k, "*", "v", '"foreign"']]);
    const outcome = await feed.publish("b").then(
      (seq) => `resolved ${seq}`,
      (err: Error) => `rejected ${err.message}`,
    );
    const [entries] = (await raw([["XRANGE", k, "-", "+"]])) as [[string, string[]][]];
    const written = entries.some(([, fields]) => fields[1] === '"b"');
    // Either "b" is in the stream, or its publish says it is not.
    expect(written || outcome.startsWith("rejected")).toBe(true);
    expect(outcome).toMatch(
      /^rejected Redis refused sequence number 2 of stream hostile-1: its top entry \d+-0 was not written by this feed/,
    );
  });

  it("a value the stream cannot take is refused at publish, and does not hold back the next ones", async () => {
    const feed = await open<unknown>({ key: key(), capacity: 4 });
    const rx = feed.subscribe();
    await expect(feed.publish(undefined)).rejects.toThrow(TypeError);
    await expect(feed.publish(() => 1)).rejects.toThrow(
      new TypeError("Expected `encode(value)` to be a string, got undefined"),
    );
    const numbers = await open<number>({ key: key(), capacity: 4, encode: (n) => n as unknown as string });
    await expect(numbers.publish(1)).rejects.toThrow(TypeError);
    expect(await feed.publish("next")).toBe(1);
    expect(await take(rx, 1)).toEqual(["next"]);
  });

  it("a feed whose Redis is unreachable at start rejects with the default reconnect strategy too", async () => {
    const started = Date.now();
    const outcome = await Promise.race([
      redisFeed({ key: "k", capacity: 4, client: { url: "redis://127.0.0.1:1" } }).then(
        async (f) => {
          await f.close();
          return "resolved";
        },
        () => "rejected",
      ),
      new Promise((resolve) => setTimeout(resolve, 4000, "pending")),
    ]);
    expect(outcome).toBe("rejected");
    expect(Date.now() - started).toBeLessThan(4000);
  });
});
