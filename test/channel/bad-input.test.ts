import { channel, SendError, TrySendError } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { rejection } from "../support/async.js";

describe("bad input gets a clear error, never a hang", () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "4" as unknown as number])(
    "channel(%s) throws a RangeError naming capacity",
    (capacity) => {
      expect(() => channel(capacity)).toThrow(RangeError);
      expect(() => channel(capacity)).toThrow(/capacity/);
    },
  );

  it("send(undefined) rejects with a TypeError and enqueues nothing", async () => {
    const [tx, rx] = channel<number | undefined>(1);
    expect(await rejection(tx.send(undefined))).toBeInstanceOf(TypeError);
    expect(() => tx.trySend(undefined)).toThrow(TypeError);
    expect(() => tx.tryReserve().send(undefined)).toThrow(TypeError);
    expect(rx.len).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN])("recvMany(%s) rejects with a RangeError naming limit", async (limit) => {
    const [, rx] = channel<number>(1);
    const err = await rejection(rx.recvMany(limit));
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/limit/);
  });

  it("a closed handle: send rejects with SendError carrying the value, trySend says closed, clone throws, reserve rejects", async () => {
    const [tx] = channel<string>(4);
    tx.close();
    tx.close(); // idempotent
    const err = await rejection(tx.send("v"));
    expect(err).toBeInstanceOf(SendError);
    expect((err as SendError<string>).value).toBe("v");
    expect(() => tx.trySend("w")).toThrow(TrySendError);
    try {
      tx.trySend("w");
    } catch (e) {
      expect(e).toMatchObject({ kind: "closed", value: "w" });
    }
    expect(() => tx.clone()).toThrow(/closed/);
    expect(await rejection(tx.reserve())).toBeInstanceOf(SendError);
    expect(() => tx.tryReserve()).toThrow(TrySendError);
    expect(tx.isClosed).toBe(true);
  });

  it("a permit used twice throws", () => {
    const [tx] = channel<string>(1);
    const p = tx.tryReserve();
    p.send("once");
    expect(() => p.send("twice")).toThrow(Error);
  });
});
