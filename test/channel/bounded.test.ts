import { channel, SendError, TrySendError, unboundedChannel } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { isPending, rejection, within } from "../support/async.js";

describe("bounded channel (Tokio's sync_mpsc behaviours)", () => {
  it("values are received in the order they were sent", async () => {
    const [tx, rx] = channel<number>(8);
    for (let i = 0; i < 5; i++) await tx.send(i);
    tx.close();
    const got: number[] = [];
    for await (const v of rx) got.push(v);
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it("send waits while the channel is full and resumes when a slot frees", async () => {
    const [tx, rx] = channel<string>(1);
    await tx.send("a");
    const second = tx.send("b");
    expect(await isPending(second)).toBe(true);
    expect(await rx.recv()).toBe("a");
    await within(second);
    expect(await rx.recv()).toBe("b");
  });

  it("waiting senders are served first come, first served", async () => {
    const [tx, rx] = channel<number>(1);
    await tx.send(0);
    const order: number[] = [];
    const waits = [1, 2, 3, 4].map((n) =>
      tx
        .clone()
        .send(n)
        .then(() => order.push(n)),
    );
    for (let i = 0; i <= 4; i++) expect(await rx.recv()).toBe(i);
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it("no barging: a slot freed for a waiting sender is its own, and a trySend in between sees full", async () => {
    const [tx, rx] = channel<string>(1);
    await tx.send("first");
    const waiting = tx.send("waiter");
    expect(rx.tryRecv()).toEqual({ ok: true, value: "first" });
    expect(() => tx.trySend("barger")).toThrow(TrySendError);
    await within(waiting);
    expect(await rx.recv()).toBe("waiter");
  });

  it("trySend reports full and closed, and gives the value back", async () => {
    const [tx, rx] = channel<string>(1);
    tx.trySend("a");
    const full = (() => {
      try {
        tx.trySend("b");
      } catch (e) {
        return e;
      }
    })();
    expect(full).toBeInstanceOf(TrySendError);
    expect(full).toMatchObject({ kind: "full", value: "b" });
    rx.close();
    const closed = (() => {
      try {
        tx.trySend("c");
      } catch (e) {
        return e;
      }
    })();
    expect(closed).toMatchObject({ kind: "closed", value: "c" });
  });

  it("recv returns undefined only after every sender handle closed and the buffer is drained", async () => {
    const [tx, rx] = channel<number>(4);
    const tx2 = tx.clone();
    await tx.send(1);
    tx.close();
    await tx2.send(2);
    const pending = rx.recv();
    expect(await pending).toBe(1);
    expect(await rx.recv()).toBe(2);
    const end = rx.recv();
    expect(await isPending(end)).toBe(true); // tx2 still open
    tx2.close();
    expect(await within(end)).toBeUndefined();
    expect(await rx.recv()).toBeUndefined();
  });

  it("a clone keeps the channel open after the original closes", async () => {
    const [tx, rx] = channel<number>(2);
    const tx2 = tx.clone();
    tx.close();
    expect(rx.isClosed).toBe(false);
    await tx2.send(7);
    expect(await rx.recv()).toBe(7);
    expect(tx.sameChannel(tx2)).toBe(true);
    expect(tx.sameChannel(channel<number>(1)[0])).toBe(false);
  });

  it("closed() resolves when the receiver closes, and isClosed turns true", async () => {
    const [tx, rx] = channel<number>(1);
    const closed = tx.closed();
    expect(await isPending(closed)).toBe(true);
    expect(tx.isClosed).toBe(false);
    rx.close();
    await within(closed);
    expect(tx.isClosed).toBe(true);
  });

  it("recvMany waits for at least one value and takes up to the limit", async () => {
    const [tx, rx] = channel<number>(10);
    const first = rx.recvMany(3);
    expect(await isPending(first)).toBe(true);
    await tx.send(1);
    expect(await first).toEqual([1]);
    for (let i = 2; i <= 6; i++) await tx.send(i);
    expect(await rx.recvMany(3)).toEqual([2, 3, 4]);
    expect(await rx.recvMany(10)).toEqual([5, 6]);
    tx.close();
    expect(await rx.recvMany(10)).toEqual([]);
  });

  it("recvMany frees the slots it took for waiting senders", async () => {
    const [tx, rx] = channel<number>(2);
    await tx.send(1);
    await tx.send(2);
    const w3 = tx.send(3);
    const w4 = tx.send(4);
    expect(await rx.recvMany(5)).toEqual([1, 2]);
    await within(Promise.all([w3, w4]));
    expect(await rx.recvMany(5)).toEqual([3, 4]);
  });

  it("len counts buffered values and is unchanged by close; capacity falls on send and reserve; maxCapacity never changes", async () => {
    const [tx, rx] = channel<number>(3);
    expect([rx.len, rx.isEmpty, tx.capacity, tx.maxCapacity]).toEqual([0, true, 3, 3]);
    await tx.send(1);
    const permit = await tx.reserve();
    expect([rx.len, rx.isEmpty, tx.capacity, tx.maxCapacity]).toEqual([1, false, 1, 3]);
    rx.close();
    expect(rx.len).toBe(1);
    expect(tx.maxCapacity).toBe(3);
    permit.release();
  });

  it("an unbounded channel never waits and never reports full", async () => {
    const [tx, rx] = unboundedChannel<number>();
    for (let i = 0; i < 10_000; i++) tx.trySend(i);
    const sends = Array.from({ length: 1000 }, (_, i) => tx.send(10_000 + i));
    for (const s of sends) expect(await isPending(s)).toBe(false);
    expect(rx.len).toBe(11_000);
    expect(tx.capacity).toBe(Number.POSITIVE_INFINITY);
    expect(tx.maxCapacity).toBe(Number.POSITIVE_INFINITY);
    expect(await rx.recv()).toBe(0);
  });

  it("a value sent while the receiver waits goes straight to it", async () => {
    const [tx, rx] = channel<number>(1);
    const waiting = rx.recv();
    await tx.send(42);
    expect(await waiting).toBe(42);
    expect(rx.len).toBe(0);
    expect(tx.capacity).toBe(1);
  });

  it("several pending recv calls are served in order", async () => {
    const [tx, rx] = channel<number>(1);
    const a = rx.recv();
    const b = rx.recv();
    await tx.send(1);
    await tx.send(2);
    expect(await a).toBe(1);
    expect(await b).toBe(2);
  });

  it("send on a closed receiver rejects with SendError carrying the value", async () => {
    const [tx, rx] = channel<{ id: number }>(1);
    rx.close();
    const err = await rejection(tx.send({ id: 1 }));
    expect(err).toBeInstanceOf(SendError);
    expect((err as SendError<{ id: number }>).value).toEqual({ id: 1 });
  });
});
