/**
 * Resume over gRPC, from the client's side: it sends the last sequence number it has under
 * `mpsc-resume-from`, and what it then reads is every value after that one, or a counted gap, never
 * a silent one and never a value twice; a malformed key is refused with INVALID_ARGUMENT.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { type BroadcastReceiver, type BroadcastSender, broadcast, type SubscribeOptions } from "grpc-mpsc";
import {
  type BroadcastSource,
  type FeedReset,
  feedEpochOf,
  GrpcError,
  RESUME_EPOCH_METADATA_KEY,
  RESUME_FROM_METADATA_KEY,
  resumeBroadcast,
  resumeMetadata,
  serverStreamCall,
  serveServerStream,
} from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome } from "../support/async.js";
import { harnessPerTest, type Msg } from "../support/grpc.js";

const { start, client } = harnessPerTest();

/**
 * Serves `feed` resumably: each response is `{ n: seq, text: value }`, a gap is `{ n: seq, text: "missed N" }`;
 * with `resets`, given the handler's ctx (so the feed's epoch goes in the headers), resets pushed to it.
 */
async function serve(feed: BroadcastSource<string>, resets?: FeedReset[]): Promise<void> {
  await start({
    count: serveServerStream<Msg, Msg>(async (_req, responses, ctx) => {
      await resumeBroadcast(feed, resets === undefined ? ctx.metadata : ctx, responses, {
        onReset: (reset) => resets?.push(reset),
        signal: ctx.signal,
        map: (text, seq) => ({ n: seq, text }),
        onLag: (missed, seq) => responses.send({ n: seq, text: `missed ${missed}` }),
      });
    }),
  });
}

/** A broadcast of `capacity` with `replay`, its first receiver closed, that has been sent `values`. */
function feedOf(capacity: number, replay: number, values: string[] = []): BroadcastSender<string> {
  const [feed, rx] = broadcast<string>(capacity, { replay });
  rx.close(); // the server subscribes per call
  for (const v of values) feed.send(v);
  return feed;
}

/** `v1` ... `vn`. */
const numbered = (n: number): string[] => Array.from({ length: n }, (_, i) => `v${i + 1}`);

/** Opens a call with `md` and reads `count` responses as "seq:text". */
async function read(md: Metadata, count: number): Promise<string[]> {
  return (await readWithEpoch(md, count)).got;
}

/** Opens a call with `md`, reads `count` responses as "seq:text", and the feed epoch of its headers. */
async function readWithEpoch(
  md: Metadata,
  count: number,
): Promise<{ epoch: string | undefined; got: string[] }> {
  const call = serverStreamCall((r, _m, o) => client().count(r, md, o), { n: 0 });
  const got: string[] = [];
  while (got.length < count) {
    const m = await call.rx.recv();
    if (m === undefined) break;
    got.push(`${m.n}:${m.text}`);
  }
  const epoch = feedEpochOf(await call.headers);
  call.cancel();
  return { epoch, got };
}

/** Waits until `feed` has `n` receivers (the server subscribed). */
async function subscribed(feed: { readonly receiverCount: number }, n: number): Promise<void> {
  for (let i = 0; i < 400 && feed.receiverCount < n; i++) await new Promise((r) => setTimeout(r, 5));
  expect(feed.receiverCount).toBe(n);
}

describe("resumeBroadcast: the client's last sequence number in metadata", () => {
  it("without the key a client is new: it gets the replayed values, then live ones", async () => {
    const feed = feedOf(8, 2, ["a", "b", "c"]);
    await serve(feed);
    const reading = read(new Metadata(), 3);
    await subscribed(feed, 1);
    feed.send("d");
    expect(await reading).toEqual(["2:b", "3:c", "4:d"]);
  });

  it("with it, the client gets every value after the last it has, then live ones", async () => {
    const feed = feedOf(8, 8, ["a", "b", "c", "d"]);
    await serve(feed);
    const reading = read(resumeMetadata(2), 3);
    await subscribed(feed, 1);
    feed.send("e");
    expect(await reading).toEqual(["3:c", "4:d", "5:e"]);
  });

  it("what is gone is one counted gap, then the oldest value held", async () => {
    const feed = feedOf(2, 2, numbered(6));
    await serve(feed);
    // It has 1; 2, 3, 4 are gone (only 5 and 6 are held).
    expect(await read(resumeMetadata(1), 3)).toEqual(["4:missed 3", "5:v5", "6:v6"]);
  });

  it("a client from a server that is ahead gets nothing twice: this one skips what it has", async () => {
    const feed = feedOf(8, 8, ["a", "b"]);
    await serve(feed);
    // The client has up to 4; this server has sent only up to 2.
    const reading = read(resumeMetadata(4), 2);
    await subscribed(feed, 1);
    for (const v of ["c", "d", "e", "f"]) feed.send(v);
    expect(await reading).toEqual(["5:e", "6:f"]);
  });

  it("resume from 0 means from the start: every value held, and a count of those gone before", async () => {
    const feed = feedOf(4, 3, numbered(5));
    await serve(feed);
    expect(await read(resumeMetadata(0), 4)).toEqual(["2:missed 2", "3:v3", "4:v4", "5:v5"]);
  });

  it.each([
    ["abc", '"abc"'],
    ["-1", '"-1"'],
    ["1.5", '"1.5"'],
    ["", '""'],
    ["99999999999999999", '"99999999999999999"'],
  ])("a malformed value %j ends the call with INVALID_ARGUMENT, nothing subscribed", async (value, shown) => {
    const feed = feedOf(4, 1);
    await serve(feed);
    const md = new Metadata();
    md.set(RESUME_FROM_METADATA_KEY, value);
    const call = serverStreamCall((r, _m, o) => client().count(r, md, o), { n: 0 });
    const got = await outcome(call.rx.recv());
    expect(got.error).toBeInstanceOf(GrpcError);
    expect((got.error as GrpcError).code).toBe(status.INVALID_ARGUMENT);
    expect((got.error as GrpcError).details).toBe(
      `Expected \`mpsc-resume-from\` metadata to be one integer from 0 to 9007199254740991, got ${shown}`,
    );
    expect(feed.receiverCount).toBe(0);
  });

  it("two values under the key are refused too", async () => {
    const feed = feedOf(4, 0);
    await serve(feed);
    const md = new Metadata();
    md.add(RESUME_FROM_METADATA_KEY, "1");
    md.add(RESUME_FROM_METADATA_KEY, "2");
    const call = serverStreamCall((r, _m, o) => client().count(r, md, o), { n: 0 });
    const got = await outcome(call.rx.recv());
    expect((got.error as GrpcError).code).toBe(status.INVALID_ARGUMENT);
  });

  it("resumeMetadata refuses what is not a sequence number, in the library's message form", () => {
    expect(() => resumeMetadata(-1)).toThrow(
      new RangeError("Expected `lastSeq` to be an integer from 0 up, got -1"),
    );
    expect(() => resumeMetadata(1.5)).toThrow(RangeError);
    expect(resumeMetadata(7).get(RESUME_FROM_METADATA_KEY)).toEqual(["7"]);
  });
});

/** A feed that can start again, as a process restart or a reset shared log does: a new broadcast, a new epoch. */
class RestartableFeed implements BroadcastSource<string> {
  tx: BroadcastSender<string>;
  /** What `history` answers from: seq -> value. */
  readonly log = new Map<number, string>();
  constructor(values: string[]) {
    this.tx = feedOf(8, 8, values);
  }
  subscribe(options?: SubscribeOptions): BroadcastReceiver<string> {
    return this.tx.subscribe(options);
  }
  get nextSeq(): number {
    return this.tx.nextSeq;
  }
  get epoch(): string {
    return this.tx.epoch;
  }
  restart(values: string[]): void {
    const old = this.tx;
    this.tx = feedOf(8, 8, values);
    old.close();
  }
}

describe("resumeBroadcast: the feed's epoch", () => {
  it("a broadcast has an epoch of its own: 32 hex digits, another for each broadcast", () => {
    const a = feedOf(2, 0);
    const b = feedOf(2, 0);
    expect(a.epoch).toMatch(/^[0-9a-f]{32}$/);
    expect(b.epoch).not.toBe(a.epoch);
  });

  it("the server sends its epoch; a client with that epoch resumes after its last value", async () => {
    const feed = feedOf(8, 8, ["a", "b", "c", "d"]);
    const resets: FeedReset[] = [];
    await serve(feed, resets);
    const reading = readWithEpoch(resumeMetadata({ lastSeq: 2, epoch: feed.epoch }), 3);
    await subscribed(feed, 1);
    feed.send("e");
    expect(await reading).toEqual({ epoch: feed.epoch, got: ["3:c", "4:d", "5:e"] });
    expect(resets).toEqual([]);
  });

  it("a client of a feed that started again is sent the new epoch and told it: no silent wait for seq 501", async () => {
    const feed = new RestartableFeed([]);
    feed.restart(["a", "b", "c"]); // the process restarted: 3 values under a new epoch
    const resets: FeedReset[] = [];
    await serve(feed, resets);
    const md = resumeMetadata({ lastSeq: 500, epoch: "0123456789abcdef0123456789abcdef" });
    // Without the epoch the server would wait for seq 501, which this feed reaches only after 497 more.
    expect(await readWithEpoch(md, 3)).toEqual({ epoch: feed.epoch, got: ["1:a", "2:b", "3:c"] });
    expect(resets).toEqual([
      { previousEpoch: "0123456789abcdef0123456789abcdef", epoch: feed.epoch, lastSeq: 500 },
    ]);
  });

  it("a client of a feed that started again gets the new epoch from its first number: what the ring lost is one counted gap, not skipped", async () => {
    const feed = new RestartableFeed([]);
    feed.restart(numbered(12)); // the ring (8) holds v5..v12: v1..v4 are gone
    const resets: FeedReset[] = [];
    await serve(feed, resets);
    const md = resumeMetadata({ lastSeq: 3, epoch: "0123456789abcdef0123456789abcdef" });
    const { got } = await readWithEpoch(md, 9);
    expect(got).toEqual([
      "4:missed 4",
      ...numbered(12)
        .slice(4)
        .map((v, i) => `${i + 5}:${v}`),
    ]);
    expect(resets).toHaveLength(1);
  });

  it("a feed reset during the call ends it with ABORTED, and the next call reports the new epoch", async () => {
    const feed = new RestartableFeed(["a", "b"]);
    const before = feed.epoch;
    await serve(feed, []);
    const call = serverStreamCall(
      (r, _m, o) => client().count(r, resumeMetadata({ lastSeq: 0, epoch: before }), o),
      {
        n: 0,
      },
    );
    expect((await call.rx.recv())?.text).toBe("a");
    expect((await call.rx.recv())?.text).toBe("b");
    feed.restart(["x"]);
    const got = await outcome(call.rx.recv());
    expect((got.error as GrpcError).code).toBe(status.ABORTED);
    expect((got.error as GrpcError).details).toContain("the feed was reset during the call");
    const again = await readWithEpoch(resumeMetadata({ lastSeq: 2, epoch: before }), 1);
    expect(again).toEqual({ epoch: feed.epoch, got: ["1:x"] });
    expect(again.epoch).not.toBe(before);
  });

  it.each([
    ["not hex!", '"not hex!"'],
    ["", '""'],
    ["x".repeat(65), `"${"x".repeat(65)}"`],
  ])("a malformed epoch %j ends the call with INVALID_ARGUMENT, nothing subscribed", async (value, shown) => {
    const feed = feedOf(4, 1);
    await serve(feed, []);
    const md = resumeMetadata(1);
    md.set(RESUME_EPOCH_METADATA_KEY, value);
    const call = serverStreamCall((r, _m, o) => client().count(r, md, o), { n: 0 });
    const got = await outcome(call.rx.recv());
    expect((got.error as GrpcError).code).toBe(status.INVALID_ARGUMENT);
    expect((got.error as GrpcError).details).toBe(
      `Expected \`mpsc-resume-epoch\` metadata to be 1 to 64 letters, digits, - or _, got ${shown}`,
    );
    expect(feed.receiverCount).toBe(0);
  });

  it("an epoch without a sequence number is refused too", async () => {
    const feed = feedOf(4, 1);
    await serve(feed, []);
    const md = new Metadata();
    md.set(RESUME_EPOCH_METADATA_KEY, feed.epoch);
    const call = serverStreamCall((r, _m, o) => client().count(r, md, o), { n: 0 });
    const got = await outcome(call.rx.recv());
    expect((got.error as GrpcError).code).toBe(status.INVALID_ARGUMENT);
  });

  it("resumeMetadata({ lastSeq, epoch }) sends both keys, and refuses a malformed epoch", () => {
    const md = resumeMetadata({ lastSeq: 3, epoch: "abc-1" });
    expect(md.get(RESUME_FROM_METADATA_KEY)).toEqual(["3"]);
    expect(md.get(RESUME_EPOCH_METADATA_KEY)).toEqual(["abc-1"]);
    expect(() => resumeMetadata({ lastSeq: 3, epoch: "a b" })).toThrow(
      new RangeError('Expected `epoch` to be 1 to 64 letters, digits, - or _, got "a b"'),
    );
  });
});

describe("resumeBroadcast: refill from the source's history", () => {
  it("what the ring lost but the log has is sent first, in order; only what both lack is a gap", async () => {
    const [tx, rx] = broadcast<string>(2, { replay: 2 });
    rx.close();
    for (const v of numbered(6)) tx.send(v); // the ring holds 5 and 6
    const log = new Map([2, 4].map((n) => [n, `v${n}`])); // the log lost 3
    const pages: number[] = [];
    const source: BroadcastSource<string> = {
      subscribe: (o) => tx.subscribe(o),
      get nextSeq() {
        return tx.nextSeq;
      },
      history: async (after, before, count) => {
        pages.push(count);
        const found = [...log].filter(([n]) => n > after && n < before).slice(0, 1); // one per page
        return found.map(([n, v]) => [n, v] as const);
      },
    };
    await serve(source);
    expect(await read(resumeMetadata(1), 5)).toEqual(["2:v2", "3:missed 1", "4:v4", "5:v5", "6:v6"]);
    expect(pages.length).toBeGreaterThanOrEqual(2); // read in pages, not all at once
  });
});
