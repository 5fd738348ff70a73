import { channel, SendError, TrySendError } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { isPending, rejection, within } from "../support/async.js";

describe("permits", () => {
  it("reserve then send: the value is received and the slot is used once", async () => {
    const [tx, rx] = channel<string>(1);
    const permit = await tx.reserve();
    expect(tx.capacity).toBe(0);
    expect(() => tx.trySend("x")).toThrow(TrySendError);
    permit.send("reserved");
    expect(permit.isUsed).toBe(true);
    expect(() => permit.send("again")).toThrow(/already used/);
    expect(await rx.recv()).toBe("reserved");
  });

  it("a released permit frees its slot, and it goes to the next waiting sender", async () => {
    const [tx, rx] = channel<string>(1);
    const permit = tx.tryReserve();
    const waiting = tx.send("next");
    expect(await isPending(waiting)).toBe(true);
    permit.release();
    permit.release(); // idempotent
    await within(waiting);
    expect(await rx.recv()).toBe("next");
  });

  it("a disposed permit gives its slot back (using)", async () => {
    const [tx] = channel<string>(1);
    {
      using _permit = tx.tryReserve();
      expect(tx.capacity).toBe(0);
    }
    expect(tx.capacity).toBe(1);
  });

  it("reserve waits in the same FIFO line as send", async () => {
    const [tx, rx] = channel<number>(1);
    await tx.send(0);
    const order: string[] = [];
    const s1 = tx.send(1).then(() => order.push("send 1"));
    const r = tx.reserve().then((p) => {
      order.push("reserve");
      p.send(2);
    });
    const s3 = tx.send(3).then(() => order.push("send 3"));
    for (let i = 0; i < 4; i++) expect(await rx.recv()).toBe(i);
    await Promise.all([s1, r, s3]);
    expect(order).toEqual(["send 1", "reserve", "send 3"]);
  });

  it("after rx.close() a permit reserved before can still send, and its value is received", async () => {
    const [tx, rx] = channel<string>(2);
    const permit = await tx.reserve();
    rx.close();
    await expect(tx.reserve()).rejects.toBeInstanceOf(SendError);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: "empty" }); // not "closed" while a permit is out
    const end = rx.recv();
    expect(await isPending(end)).toBe(true);
    permit.send("late but reserved");
    expect(await end).toBe("late but reserved");
    expect(rx.tryRecv()).toEqual({ ok: false, reason: "closed" });
    expect(await rx.recv()).toBeUndefined();
  });

  it("recv reports the end only when closed, drained and no permit is outstanding", async () => {
    const [tx, rx] = channel<number>(2);
    await tx.send(1);
    const permit = await tx.reserve();
    tx.close();
    expect(await rx.recv()).toBe(1);
    const end = rx.recv();
    expect(await isPending(end)).toBe(true);
    permit.release();
    expect(await within(end)).toBeUndefined();
  });
});

describe("closing", () => {
  it("receiver close rejects waiting senders with their values but keeps buffered values receivable", async () => {
    const [tx, rx] = channel<string>(2);
    await tx.send("a");
    await tx.send("b");
    const w1 = tx.send("c");
    const w2 = tx.clone().send("d");
    rx.close();
    const [e1, e2] = await Promise.all([rejection(w1), rejection(w2)]);
    expect(e1).toMatchObject({ name: "SendError", value: "c" });
    expect(e2).toMatchObject({ name: "SendError", value: "d" });
    expect(await rx.recv()).toBe("a");
    expect(await rx.recv()).toBe("b");
    expect(await rx.recv()).toBeUndefined();
    expect(rx.isClosed).toBe(true);
  });

  it("leaving for-await with break closes the receiver, and a waiting sender gets its value back", async () => {
    const [tx, rx] = channel<number>(1);
    const producer = (async () => {
      for (let i = 0; ; i++) await tx.send(i);
    })();
    for await (const v of rx) if (v === 3) break;
    const err = await within(rejection(producer));
    expect(err).toBeInstanceOf(SendError);
    expect(rx.isClosed).toBe(true);
  });

  it("leaving for-await by a throw closes the receiver too", async () => {
    const [tx, rx] = channel<number>(4);
    await tx.send(1);
    await expect(
      (async () => {
        for await (const _ of rx) throw new Error("consumer failed");
      })(),
    ).rejects.toThrow("consumer failed");
    expect(tx.isClosed).toBe(true);
    await expect(tx.send(2)).rejects.toBeInstanceOf(SendError);
  });

  it("disposing the handles closes them", async () => {
    const [tx, rx] = channel<number>(1);
    {
      using _tx = tx;
    }
    expect(await rx.recv()).toBeUndefined();
    const [tx2, rx2] = channel<number>(1);
    {
      using _rx = rx2;
    }
    expect(tx2.isClosed).toBe(true);
  });

  it("a send that was waiting when its own handle closed still completes", async () => {
    const [tx, rx] = channel<number>(1);
    await tx.send(1);
    const waiting = tx.send(2);
    tx.close();
    expect(await rx.recv()).toBe(1);
    await within(waiting);
    expect(await rx.recv()).toBe(2);
    expect(await rx.recv()).toBeUndefined();
  });

  it("abort(reason): buffered values are still received, then the receiver rejects with the reason", async () => {
    const [tx, rx] = channel<number>(4);
    const other = tx.clone();
    await tx.send(1);
    await tx.send(2);
    const reason = new Error("source broke");
    tx.abort(reason);
    await expect(other.send(3)).rejects.toBeInstanceOf(SendError); // refused from every handle
    const got: number[] = [];
    const err = await rejection(
      (async () => {
        for await (const v of rx) got.push(v);
      })(),
    );
    expect(got).toEqual([1, 2]);
    expect(err).toBe(reason);
    await expect(rx.recv()).rejects.toBe(reason);
    await expect(rx.recvMany(3)).rejects.toBe(reason);
    expect(() => rx.tryRecv()).toThrow(reason);
  });

  it("abort wakes a waiting receiver with the reason", async () => {
    const [tx, rx] = channel<number>(1);
    const waiting = rx.recv();
    tx.abort(new Error("gone"));
    await expect(within(waiting)).rejects.toThrow("gone");
  });
});
