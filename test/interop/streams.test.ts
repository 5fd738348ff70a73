import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { channel, pipe, SendError, toReadableStream } from "grpc-mpsc";
import { toReadable } from "grpc-mpsc/node";
import { pushable } from "it-pushable";
import { describe, expect, it } from "vitest";
import { isPending, rejection, within } from "../support/async.js";

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("a Receiver as a Node Readable", () => {
  it("carries every value in order through a pipeline, then ends", async () => {
    const [tx, rx] = channel<number>(4);
    const producing = pipe(Readable.from(range(1000)), tx);
    const got: number[] = [];
    await pipeline(
      toReadable(rx),
      new Writable({
        objectMode: true,
        write(v: number, _enc, cb) {
          got.push(v);
          cb();
        },
      }),
    );
    expect(await producing).toBe(1000);
    expect(got).toEqual(range(1000));
  });

  it("reads only on demand: a paused Readable leaves the channel full and the producer waiting", async () => {
    const [tx, rx] = channel<number>(2);
    const readable = toReadable(rx);
    readable.pause();
    for (let i = 0; i < 2; i++) await tx.send(i);
    const third = tx.send(2);
    expect(await isPending(third)).toBe(true);
    readable.destroy();
    expect(await rejection(third)).toBeInstanceOf(SendError); // destroying closed the receiver
  });

  it("errors with the reason of a failed channel", async () => {
    const [tx, rx] = channel<number>(2);
    await tx.send(1);
    tx.abort(new Error("source broke"));
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const v of toReadable(rx)) got.push(v as number);
      })(),
    ).rejects.toThrow("source broke");
    expect(got).toEqual([1]);
  });

  it("a null from the channel errors the stream instead of ending it quietly; the values after it stay in rx", async () => {
    const [tx, rx] = channel<string | null>(4);
    for (const v of ["before", null, "after"]) await tx.send(v);
    const got: unknown[] = [];
    await expect(
      (async () => {
        for await (const v of toReadable(rx)) got.push(v);
      })(),
    ).rejects.toThrow(/cannot carry null/);
    expect(got).toEqual(["before"]);
    expect(rx.tryRecv()).toEqual({ ok: true, value: "after" });
  });

  it("something that is not a Receiver is a TypeError at once, not a stream that fails later", () => {
    const [tx] = channel<number>(1);
    expect(() => toReadable(tx as never)).toThrow(/^Expected `rx` to be a Receiver, got object$/);
    expect(() => toReadable(null as never)).toThrow(/got null/);
  });
});

describe("a Receiver as a WHATWG ReadableStream", () => {
  it("pulls every value in order, then closes", async () => {
    const [tx, rx] = channel<string>(2);
    const producing = pipe(
      (async function* () {
        yield* ["a", "b", "c"];
      })(),
      tx,
    );
    const got: string[] = [];
    for await (const v of toReadableStream(rx)) got.push(v);
    await producing;
    expect(got).toEqual(["a", "b", "c"]);
  });

  it("cancel closes the receiver", async () => {
    const [tx, rx] = channel<number>(1);
    const stream = toReadableStream(rx);
    await stream.cancel();
    expect(tx.isClosed).toBe(true);
  });
});

describe("pipe(source, tx)", () => {
  it("stops reading the source as soon as the receiver closes, and runs the source's cleanup", async () => {
    const [tx, rx] = channel<number>(1);
    let produced = 0;
    let cleaned = false;
    const source = (async function* () {
      try {
        for (;;) yield produced++;
      } finally {
        cleaned = true;
      }
    })();
    const piping = pipe(source, tx);
    expect(await rx.recv()).toBe(0);
    rx.close();
    const sent = await within(piping);
    expect(cleaned).toBe(true);
    expect(produced).toBeLessThanOrEqual(sent + 2); // nothing read ahead beyond the channel's slot
  });

  it("aborts tx with the source's error: the values before it arrive, then the error", async () => {
    const [tx, rx] = channel<number>(8);
    const boom = new Error("read failed");
    const piping = pipe(
      (async function* () {
        yield 1;
        yield 2;
        throw boom;
      })(),
      tx,
    );
    expect(await rejection(piping)).toBe(boom);
    expect(await rx.recv()).toBe(1);
    expect(await rx.recv()).toBe(2);
    expect(await rejection(rx.recv())).toBe(boom);
  });

  it("an abort signal stops the pipe and fails the channel with the signal's reason", async () => {
    const [tx, rx] = channel<number>(1);
    const controller = new AbortController();
    const piping = pipe(
      (async function* () {
        for (let i = 0; ; i++) yield i;
      })(),
      tx,
      { signal: controller.signal },
    );
    expect(await rx.recv()).toBe(0);
    controller.abort(new Error("enough"));
    expect(((await rejection(piping)) as Error).message).toBe("enough");
  });
});

describe("pipe(source, tx) given something that is not an async iterable", () => {
  it("a non-iterable aborts tx with a TypeError: the consumer learns at once instead of hanging", async () => {
    const [tx, rx] = channel<number>(4);
    const piping = pipe(42 as unknown as AsyncIterable<number>, tx);
    const err = await rejection(piping);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(/source/);
    expect(await within(rejection(rx.recv()))).toBe(err);
  });

  it("a sync iterable is read as for-await reads it", async () => {
    const [tx, rx] = channel<number>(4);
    const piping = pipe([1, 2, 3], tx);
    const got: number[] = [];
    for await (const v of rx) got.push(v);
    expect(got).toEqual([1, 2, 3]);
    expect(await piping).toBe(3);
  });
});

describe("it-pushable, both ways", () => {
  it("a pushable feeds a channel through pipe, with the channel's backpressure on the reading side", async () => {
    const source = pushable<number>({ objectMode: true });
    const [tx, rx] = channel<number>(2);
    const piping = pipe(source, tx);
    for (const v of range(10)) source.push(v);
    source.end();
    const got: number[] = [];
    for await (const v of rx) got.push(v);
    expect(await piping).toBe(10);
    expect(got).toEqual(range(10));
  });

  it("a Receiver drains into a pushable (any AsyncIterable consumer works with a Receiver)", async () => {
    const [tx, rx] = channel<number>(2);
    const sink = pushable<number>({ objectMode: true });
    void (async () => {
      for await (const v of rx) sink.push(v);
      sink.end();
    })();
    void pipe(Readable.from(range(20)), tx);
    const got: number[] = [];
    for await (const v of sink) got.push(v);
    expect(got).toEqual(range(20));
  });
});
