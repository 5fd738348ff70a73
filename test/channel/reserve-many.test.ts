// Tokio's tests/sync_mpsc.rs `reserve_many` / `try_reserve_many` cases, ported, with the line's order.
import { channel, type Permit, SendError, TrySendError, unboundedChannel } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { isPending, rejection, within } from "../support/async.js";

/** The error `tryReserveMany` throws, or a failure if it returned permits. */
function tryError(reserve: () => Permit<unknown>[]): unknown {
  try {
    reserve();
  } catch (err) {
    return err;
  }
  throw new Error("expected tryReserveMany to throw");
}

describe("reserveMany", () => {
  it("hands back n permits at once; a send directly is refused while they hold every slot", async () => {
    const [tx, rx] = channel<number>(2);
    const permits = await tx.reserveMany(2);
    expect(permits).toHaveLength(2);
    expect(() => tx.trySend(123)).toThrow(TrySendError);
    permits[0]?.send(456);
    permits[1]?.send(457);
    expect([await rx.recv(), await rx.recv()]).toEqual([456, 457]);
  });

  it("refuses n above maxCapacity with a RangeError in the one message form", async () => {
    const [tx] = channel<number>(1);
    await expect(tx.reserveMany(2)).rejects.toThrow(
      new RangeError("Expected `n` to be an integer from 0 to 1, got 2"),
    );
    await expect(tx.reserveMany(Number.MAX_SAFE_INTEGER)).rejects.toBeInstanceOf(RangeError);
    for (const bad of [-1, 1.5, Number.NaN, "1"]) {
      await expect(tx.reserveMany(bad as number)).rejects.toBeInstanceOf(RangeError);
    }
  });

  it("n = 0 resolves with no permit, even when full, and is refused once closed", async () => {
    const [tx, rx] = channel<number>(1);
    expect(await tx.reserveMany(0)).toEqual([]);
    await tx.send(1);
    expect(await within(tx.reserveMany(0))).toEqual([]);
    rx.close();
    await expect(tx.reserveMany(0)).rejects.toBeInstanceOf(SendError);
  });

  it("every count up to the capacity reserves and sends, then the channel is empty", async () => {
    const [tx, rx] = channel<string>(100);
    for (let i = 0; i < 100; i++) {
      for (const permit of await tx.reserveMany(i)) {
        permit.send("foo");
        expect(await rx.recv()).toBe("foo");
      }
      expect(rx.tryRecv()).toEqual({ ok: false, reason: "empty" });
    }
  });

  it("on a closed channel rejects with SendError carrying no value", async () => {
    const [tx, rx] = channel<number>(100);
    rx.close();
    const err = await rejection(tx.reserveMany(10));
    expect(err).toBeInstanceOf(SendError);
    expect((err as SendError<unknown>).value).toBeUndefined();
  });

  it("waits until n slots are free; released permits go to the next reserveMany", async () => {
    for (const n of [1, 2, 7, 99]) {
      const [tx1] = channel<number>(n);
      const tx2 = tx1.clone();
      const permits = await tx1.reserveMany(n);
      const second = tx2.reserveMany(n);
      expect(await isPending(second)).toBe(true);
      for (const p of permits) p.release();
      const again = await within(second);
      expect(again).toHaveLength(n);
      for (const p of again) p.release();
      expect(tx1.capacity).toBe(n);
    }
  });

  it("holds the slots freed while it waits at the head of the line: nobody behind it barges", async () => {
    const [tx, rx] = channel<number>(3);
    await tx.send(1);
    await tx.send(2);
    await tx.send(3);
    const many = tx.reserveMany(2);
    const after = tx.send(4);
    expect(await rx.recv()).toBe(1); // one slot freed: taken by the reserveMany, not free
    expect(tx.capacity).toBe(0);
    expect(() => tx.trySend(9)).toThrow(expect.objectContaining({ kind: "full" }));
    expect(await isPending(many)).toBe(true);
    expect(await isPending(after)).toBe(true);
    expect(await rx.recv()).toBe(2);
    const permits = await within(many);
    expect(await isPending(after)).toBe(true); // the send waits behind it, FIFO
    permits[0]?.send(10);
    permits[1]?.release();
    await within(after);
    expect(await rx.recvMany(10)).toEqual([3, 10, 4]);
  });

  it("waits behind senders already in line, even when n slots would be free for it alone", async () => {
    const [tx, rx] = channel<number>(2);
    tx.trySend(1);
    tx.trySend(2);
    const first = tx.send(3);
    const many = tx.reserveMany(1);
    expect(await rx.recv()).toBe(1);
    await within(first);
    expect(await isPending(many)).toBe(true);
    expect(await rx.recv()).toBe(2);
    expect(await within(many)).toHaveLength(1);
  });

  it("an aborted wait gives back the slots it held, to the next in line", async () => {
    const [tx, rx] = channel<number>(2);
    const held = tx.tryReserve();
    const controller = new AbortController();
    const many = tx.reserveMany(2, { signal: controller.signal }); // takes the other slot and waits
    const next = tx.reserve();
    expect(tx.capacity).toBe(0);
    controller.abort(new Error("gave up"));
    await expect(many).rejects.toThrow("gave up");
    (await within(next)).send(5);
    held.release();
    expect(tx.capacity).toBe(1);
    expect(await rx.recv()).toBe(5);
  });

  it("a signal aborted already rejects at once and takes nothing", async () => {
    const [tx] = channel<number>(2);
    await expect(tx.reserveMany(2, { signal: AbortSignal.abort(new Error("no")) })).rejects.toThrow("no");
    expect(tx.capacity).toBe(2);
  });

  it("a failed reserveMany wakes a closed receiver once nothing else is out", async () => {
    const [tx, rx] = channel<number>(2);
    const permit = tx.tryReserve(); // the reserveMany can take only the other slot and waits
    const many = tx.reserveMany(2);
    expect(await isPending(many)).toBe(true);
    const one = tx.reserve();
    rx.close();
    // both give their slots back as they fail, and neither hands back a value it never had
    for (const err of await Promise.all([rejection(many), rejection(one)])) {
      expect(err).toBeInstanceOf(SendError);
      expect((err as SendError<unknown>).value).toBeUndefined();
    }
    const recv = rx.recv();
    expect(await isPending(recv)).toBe(true); // the permit is still out
    permit.release();
    expect(await within(recv)).toBeUndefined();
  });

  it("a cancelled reserveMany gives its slots back at once; the receiver ends with the last permit", async () => {
    const [tx, rx] = channel<number>(2);
    const permit = tx.tryReserve();
    const controller = new AbortController();
    const many = tx.reserveMany(2, { signal: controller.signal }); // holds the other slot
    tx.close();
    const recv = rx.recv();
    controller.abort(new Error("cancelled"));
    await expect(many).rejects.toThrow("cancelled");
    expect(tx.capacity).toBe(1);
    expect(await isPending(recv)).toBe(true); // the permit is still out
    permit.release();
    expect(await within(recv)).toBeUndefined();
  });

  it("the last permit of a batch, released after the receiver closed, wakes it", async () => {
    const [tx, rx] = channel<number>(100);
    const [permit] = tx.tryReserveMany(1);
    rx.close();
    const recv = rx.recv();
    expect(await isPending(recv)).toBe(true);
    permit?.release();
    expect(await within(recv)).toBeUndefined();
  });

  it("works on an unbounded channel, where any count fits", async () => {
    const [tx, rx] = unboundedChannel<number>();
    const permits = await tx.reserveMany(1000);
    permits.forEach((p, i) => {
      p.send(i);
    });
    expect((await rx.recvMany(2000)).length).toBe(1000);
  });
});

describe("tryReserveMany", () => {
  it("reserves n slots now, all or none", () => {
    const [tx] = channel<number>(2);
    const permits = tx.tryReserveMany(2);
    expect(() => tx.trySend(123)).toThrow(TrySendError);
    expect(() => tx.tryReserve()).toThrow(TrySendError);
    for (const p of permits) p.release();
  });

  it("n = 0 gives no permit, even when full, and is refused once closed", () => {
    const [tx, rx] = channel<number>(1);
    expect(tx.tryReserveMany(0)).toEqual([]);
    tx.trySend(1);
    expect(tx.tryReserveMany(0)).toEqual([]);
    rx.close();
    expect(tryError(() => tx.tryReserveMany(0))).toMatchObject({ name: "TrySendError", kind: "closed" });
  });

  it("refuses n above maxCapacity with a RangeError", () => {
    const [tx] = channel<number>(1);
    expect(() => tx.tryReserveMany(2)).toThrow(
      new RangeError("Expected `n` to be an integer from 0 to 1, got 2"),
    );
    expect(() => tx.tryReserveMany(Number.MAX_SAFE_INTEGER)).toThrow(RangeError);
  });

  it("every count up to the capacity reserves and sends", async () => {
    const [tx, rx] = channel<string>(100);
    for (let i = 0; i < 100; i++) {
      for (const permit of tx.tryReserveMany(i)) {
        permit.send("foo");
        expect(await rx.recv()).toBe("foo");
      }
      expect(rx.tryRecv()).toEqual({ ok: false, reason: "empty" });
    }
  });

  it("on a closed channel throws kind closed", () => {
    const [tx, rx] = channel<number>(100);
    rx.close();
    expect(tryError(() => tx.tryReserveMany(10))).toMatchObject({ kind: "closed", value: undefined });
  });

  it("when full throws kind full, and capacity follows the permits used and the values received", async () => {
    for (let n = 1; n < 40; n++) {
      for (let k = 0; k < n; k++) {
        const [tx, rx] = channel<number>(n);
        const permits = tx.tryReserveMany(n);
        expect(permits).toHaveLength(n);
        expect(tx.capacity).toBe(0);
        expect(tryError(() => tx.tryReserveMany(1))).toMatchObject({ kind: "full" });
        for (const p of permits.slice(0, k)) p.send(0);
        for (const p of permits.slice(k)) p.release();
        expect(tx.capacity).toBe(n - k);
        tx.tryReserveMany(1)[0]?.release();
        // more than is free: "full" while it could fit some day, a RangeError beyond maxCapacity
        if (k > 0) expect(tryError(() => tx.tryReserveMany(n - k + 1))).toMatchObject({ kind: "full" });
        else expect(() => tx.tryReserveMany(n + 1)).toThrow(RangeError);
        for (let i = 0; i < k; i++) expect(await rx.recv()).toBe(0);
        expect(tx.capacity).toBe(n);
      }
    }
  });
});

describe("permit.sameChannel", () => {
  it("is true for permits of one channel and false across channels", async () => {
    const [tx] = channel<number>(2);
    const permit1 = await tx.clone().reserve();
    const permit2 = await tx.clone().reserve();
    expect(permit1.sameChannel(permit2)).toBe(true);
    const [tx2] = channel<number>(1);
    const permit3 = await tx2.reserve();
    expect(permit3.sameChannel(permit2)).toBe(false);
  });

  it("still answers once a permit is used or released", () => {
    const [tx] = unboundedChannel<number>();
    const [a, b] = tx.tryReserveMany(2) as [Permit<number>, Permit<number>];
    a.send(1);
    b.release();
    expect(a.sameChannel(b)).toBe(true);
  });
});
