/** broadcast beyond Tokio's suite: iteration, abort, garbage collection, the memory bound, select. */
import { type BroadcastReceiver, broadcast, channel, Lagged, SendError, select } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { collectGarbage, collectUntil, isPending, rejection, tick, within } from "../support/async.js";

describe("broadcast", () => {
  it("for await yields every value and each gap, then ends after the last sender closes", async () => {
    const [tx, rx] = broadcast<number>(2);
    for (let i = 0; i < 5; i++) tx.send(i);
    tx.close();
    const items: (number | string)[] = [];
    for await (const item of rx) items.push(item instanceof Lagged ? `lagged ${item.missed}` : item);
    expect(items).toEqual(["lagged 3", 3, 4]);
  });

  it("leaving for await early unsubscribes: receiverCount falls and closed() resolves", async () => {
    const [tx, rx] = broadcast<number>(4);
    tx.send(1);
    tx.send(2);
    for await (const item of rx) {
      expect(item).toBe(1);
      break;
    }
    expect(tx.receiverCount).toBe(0);
    expect(tx.len).toBe(0); // the value it left unread no longer waits for it
    await within(tx.closed());
  });

  it("a receiver subscribed after every sender closed ends at once and is not counted", async () => {
    const [tx, rx] = broadcast<number>(4);
    const tx2 = tx.clone();
    tx.close();
    const whileOpen = tx.subscribe(); // through a closed handle, but tx2 is open: a live receiver
    expect(tx.receiverCount).toBe(2);
    whileOpen.close();
    tx2.close();
    const late = [tx.subscribe(), tx2.subscribe(), rx.resubscribe()];
    expect(tx.receiverCount).toBe(1); // rx alone
    for (const r of late) {
      expect(r.isClosed).toBe(true);
      expect(r.tryRecv()).toEqual({ ok: false, reason: "closed" });
      expect(await r.recv()).toBe(undefined);
      for await (const _ of r) expect.unreachable();
      r.close(); // not counted, so closing it takes nothing off
    }
    expect(tx.receiverCount).toBe(1);
    const closed = tx.closed();
    expect(await isPending(closed)).toBe(true); // rx still holds it back
    rx.close();
    await within(closed);
    tx.subscribe();
    expect(tx.receiverCount).toBe(0);
    await within(tx.closed());
  });

  it("a late receiver collected unclosed takes nothing off the count", async () => {
    const [tx, rx] = broadcast<number>(4);
    tx.close();
    (() => {
      tx.subscribe();
    })();
    await collectGarbage();
    expect(tx.receiverCount).toBe(1);
    rx.close();
    expect(tx.receiverCount).toBe(0);
  });

  it("an aborted recv reads nothing: the next recv gets the value", async () => {
    const [tx, rx] = broadcast<string>(4);
    const giveUp = new AbortController();
    const waiting = rx.recv({ signal: giveUp.signal });
    giveUp.abort(new Error("timeout"));
    expect(await rejection(waiting)).toMatchObject({ message: "timeout" });
    tx.send("kept");
    expect(await rx.recv()).toBe("kept");
    expect(await rejection(rx.recv({ signal: AbortSignal.abort("already") }))).toBe("already");
  });

  it("a receiver has one receive pending at a time; resubscribe gives another consumer", async () => {
    const [tx, rx] = broadcast<string>(4);
    const first = rx.recv();
    expect(await rejection(rx.recv())).toMatchObject({ message: /one value at a time/ });
    const other = rx.resubscribe();
    const second = other.recv();
    tx.send("both");
    expect(await first).toBe("both");
    expect(await second).toBe("both");
  });

  it("every waiting receiver, of many, gets the value", async () => {
    const [tx, rx] = broadcast<number>(1);
    const rxs = [rx, ...Array.from({ length: 99 }, () => tx.subscribe())];
    const waits = rxs.map((r) => r.recv());
    expect(tx.send(42)).toBe(100);
    expect(await Promise.all(waits)).toEqual(new Array(100).fill(42));
    expect(tx.len).toBe(0);
  });

  it("closing a receiver ends its pending recv with undefined", async () => {
    const [tx, rx] = broadcast<number>(1);
    const waiting = rx.recv();
    rx.close();
    expect(await waiting).toBeUndefined();
    expect(rx.isClosed).toBe(true);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: "closed" });
    expect(tx.receiverCount).toBe(0);
    rx.close(); // idempotent
    expect(tx.receiverCount).toBe(0);
  });

  it("memory is bounded by capacity, not by the receivers: values beyond capacity are released unread", async () => {
    const capacity = 8;
    const [tx, rx] = broadcast<object>(capacity);
    const idle = Array.from({ length: 100 }, () => tx.subscribe()); // never read
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < capacity * 4; i++) {
      const value = { i, payload: new Array(100).fill(i) };
      refs.push(new WeakRef(value));
      tx.send(value);
    }
    expect(tx.len).toBe(capacity);
    await collectUntil(() => refs.slice(0, capacity * 3).every((r) => r.deref() === undefined));
    expect(refs.slice(capacity * 3).every((r) => r.deref() !== undefined)).toBe(true);
    expect(idle[0]?.len).toBe(capacity * 4); // it will learn of the loss: a gap, then the last 8
    expect(idle[0]?.tryRecv()).toMatchObject({ missed: capacity * 3 });
    rx.close();
  });

  it("a value every receiver has read is released before it is overwritten", async () => {
    const [tx, rx] = broadcast<object>(16);
    const rx2 = tx.subscribe();
    let value: object | undefined = { big: new Array(100).fill(0) };
    const ref = new WeakRef(value);
    tx.send(value);
    value = undefined;
    rx.tryRecv();
    await tick();
    global.gc?.();
    expect(ref.deref()).toBeDefined(); // rx2 has yet to read it
    rx2.tryRecv();
    await collectUntil(() => ref.deref() === undefined);
    expect(tx.isEmpty).toBe(true);
  });

  it("a receiver garbage-collected unclosed unsubscribes", async () => {
    const [tx, rx] = broadcast<number>(4);
    (() => {
      tx.subscribe();
    })();
    expect(tx.receiverCount).toBe(2);
    await collectUntil(() => tx.receiverCount === 1);
    expect(tx.send(1)).toBe(1);
    rx.close();
  });

  it("a sender garbage-collected unclosed closes: the receivers end after what they have not read", async () => {
    let rx: BroadcastReceiver<number> | undefined;
    (() => {
      const [tx, r] = broadcast<number>(4);
      tx.send(1);
      rx = r;
    })();
    const receiver = rx as BroadcastReceiver<number>;
    expect(await receiver.recv()).toBe(1);
    const end = receiver.recv();
    await collectUntil(() => receiver.isClosed);
    expect(await end).toBeUndefined();
  });

  it("bad input: undefined values, a closed handle, clone of a closed handle", () => {
    const [tx, rx] = broadcast<string | undefined>(2);
    expect(() => tx.send(undefined)).toThrow(TypeError);
    const tx2 = tx.clone();
    tx2.close();
    tx2.close(); // idempotent
    expect(() => tx2.send("v")).toThrow(SendError);
    expect(() => tx2.clone()).toThrow(/closed/);
    expect(tx.sameChannel(tx2)).toBe(true);
    expect(rx.sameChannel(tx.subscribe())).toBe(true);
    expect(rx.sameChannel(broadcast<string | undefined>(1)[1])).toBe(false);
    expect(rx.isClosed).toBe(false);
  });

  it("using closes the handles at the end of the block", async () => {
    const [tx, rx] = broadcast<number>(2);
    {
      using sub = tx.subscribe();
      expect(tx.receiverCount).toBe(2);
      expect(sub.isEmpty).toBe(true);
    }
    expect(tx.receiverCount).toBe(1);
    {
      using closing = tx;
      closing.send(1);
    }
    expect(await rx.recv()).toBe(1);
    expect(await rx.recv()).toBeUndefined();
  });

  describe("in select", () => {
    it("a broadcast receive that loses reads nothing: its receiver still gets the value", async () => {
      const [btx, brx] = broadcast<string>(4);
      const [tx, rx] = channel<string>(1);
      const selecting = select([brx.recvOp(), rx.recvOp()]);
      await tx.send("channel");
      expect(await selecting).toEqual({ index: 1, value: "channel" });
      btx.send("broadcast");
      expect(brx.tryRecv()).toEqual({ ok: true, value: "broadcast" });
    });

    it("two receivers of one broadcast in a select: one takes the value, the other still has it", async () => {
      const [tx, rx1] = broadcast<string>(4);
      const rx2 = tx.subscribe();
      const selecting = select([rx1.recvOp(), rx2.recvOp()]);
      expect(await isPending(selecting)).toBe(true);
      tx.send("v");
      const { index } = await selecting;
      const loser = index === 0 ? rx2 : rx1;
      expect(loser.tryRecv()).toEqual({ ok: true, value: "v" });
    });

    it("a ready gap completes the receive with Lagged", async () => {
      const [tx, rx] = broadcast<number>(1);
      tx.send(1);
      tx.send(2);
      const got = await select([rx.recvOp()]);
      expect(got.value).toBeInstanceOf(Lagged);
    });

    it("a receiver closed under a waiting select ends it with undefined, and the other operations take nothing", async () => {
      const [, brx] = broadcast<string>(4);
      const [tx, rx] = channel<string>(1);
      const selecting = select([brx.recvOp(), rx.recvOp()]);
      brx.close();
      expect(await selecting).toEqual({ index: 0, value: undefined });
      await tx.send("kept");
      expect(rx.tryRecv()).toEqual({ ok: true, value: "kept" });
    });

    it("a receive of a receiver with another receive pending is refused, and the select takes nothing", async () => {
      const [tx, rx] = broadcast<string>(4);
      const [ctx, crx] = channel<string>(1);
      const pending = rx.recv();
      expect(await rejection(select([crx.recvOp(), rx.recvOp()]))).toMatchObject({
        message: /one value at a time/,
      });
      await ctx.send("c");
      expect(crx.len).toBe(1);
      tx.send("b");
      expect(await pending).toBe("b");
    });

    it("the same receiver twice in one select is refused, and leaves the receiver usable", async () => {
      const [tx, rx] = broadcast<string>(4);
      expect(await rejection(select([rx.recvOp(), rx.recvOp()]))).toMatchObject({
        message: /one value at a time/,
      });
      const next = rx.recv();
      tx.send("v");
      expect(await next).toBe("v");
    });
  });
});
