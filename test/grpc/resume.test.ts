/**
 * Resume over gRPC, from the client's side: it sends the last sequence number it has under
 * `mpsc-resume-from`, and what it then reads is every value after that one, or a counted gap, never
 * a silent one and never a value twice; a malformed key is refused with INVALID_ARGUMENT.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { type BroadcastSender, broadcast } from "grpc-mpsc";
import {
  GrpcError,
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

/** Serves `feed` resumably: each response is `{ n: seq, text: value }`, a gap is `{ n: seq, text: "missed N" }`. */
async function serve(feed: BroadcastSender<string>): Promise<void> {
  await start({
    count: serveServerStream<Msg, Msg>(async (_req, responses, ctx) => {
      await resumeBroadcast(feed, ctx.metadata, responses, {
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
  const call = serverStreamCall((r, _m, o) => client().count(r, md, o), { n: 0 });
  const got: string[] = [];
  while (got.length < count) {
    const m = await call.rx.recv();
    if (m === undefined) break;
    got.push(`${m.n}:${m.text}`);
  }
  call.cancel();
  return got;
}

/** Waits until `feed` has `n` receivers (the server subscribed). */
async function subscribed(feed: BroadcastSender<string>, n: number): Promise<void> {
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
