/** watch beyond Tokio's suite: iteration, the sending variants, abort, garbage collection, select. */
import { channel, RecvError, SendError, select, type WatchReceiver, watch } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { collectGarbage, collectUntil, isPending, rejection, tick, within } from "../support/async.js";

describe("watch", () => {
  it("for await yields the current value, then the latest after each change, skipping the ones in between", async () => {
    const [tx, rx] = watch(0);
    const seen: number[] = [];
    const reading = (async () => {
      for await (const v of rx) seen.push(v);
    })();
    await tick();
    for (let i = 1; i <= 5; i++) tx.send(i); // one burst: only the last is seen
    await tick();
    tx.send(6);
    await tick();
    tx.close();
    await within(reading);
    expect(seen).toEqual([0, 5, 6]);
  });

  it("for await yields a value sent just before the sender closed, then ends", async () => {
    const [tx, rx] = watch("a");
    const it = rx[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: false, value: "a" });
    tx.send("b");
    tx.close();
    expect(await it.next()).toEqual({ done: false, value: "b" });
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it("leaving for await early closes the receiver: the sender's closed() resolves", async () => {
    const [tx, rx] = watch(1);
    for await (const v of rx) {
      expect(v).toBe(1);
      break;
    }
    expect(tx.receiverCount).toBe(0);
    await within(tx.closed());
    expect(() => tx.send(2)).toThrow(SendError);
  });

  it("send without receivers throws SendError carrying the value and stores nothing; sendReplace stores", () => {
    const [tx, rx] = watch("initial");
    rx.close();
    expect(() => tx.send("lost?")).toThrow(SendError);
    expect(() => tx.send("lost?")).toThrow(expect.objectContaining({ value: "lost?" }));
    expect(tx.borrow()).toBe("initial");
    expect(tx.sendReplace("replaced")).toBe("initial");
    expect(tx.borrow()).toBe("replaced");
    expect(tx.subscribe().borrow()).toBe("replaced");
  });

  it("sendModify changes in place or replaces, and wakes; sendIfModified wakes only when told", async () => {
    const [counter, counterRx] = watch(0);
    counter.sendModify((n) => n + 1);
    expect(counterRx.borrowAndUpdate()).toBe(1);

    const [tx, rx] = watch({ clients: 0 });
    tx.sendModify((s) => {
      s.clients++;
    });
    expect(rx.hasChanged()).toBe(true);
    expect(rx.borrowAndUpdate().clients).toBe(1);

    const waiting = rx.changed();
    expect(tx.sendIfModified(() => false)).toBe(false);
    expect(await isPending(waiting)).toBe(true);
    expect(
      tx.sendIfModified((s) => {
        s.clients = 2;
        return true;
      }),
    ).toBe(true);
    await waiting;
    expect(rx.borrow().clients).toBe(2);
  });

  it("subscribe has seen the current value; clone has seen what the original has seen", () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    expect(tx.subscribe().hasChanged()).toBe(false);
    expect(rx.clone().hasChanged()).toBe(true);
    rx.borrowAndUpdate();
    expect(rx.clone().hasChanged()).toBe(false);
    expect(tx.receiverCount).toBe(4);
    expect(tx.senderCount).toBe(1);
    expect(tx.clone().senderCount).toBe(2);
  });

  it("an aborted changed() marks nothing seen", async () => {
    const [tx, rx] = watch(0);
    const giveUp = new AbortController();
    const waiting = rx.changed({ signal: giveUp.signal });
    giveUp.abort(new Error("timeout"));
    expect(await rejection(waiting)).toMatchObject({ message: "timeout" });
    tx.send(1);
    expect(rx.hasChanged()).toBe(true);
    expect(await rejection(rx.changed({ signal: AbortSignal.abort("already") }))).toBe("already");
  });

  it("closing a receiver rejects its pending changed() with RecvError and ends its iterator", async () => {
    const [tx, rx] = watch(0);
    const waiting = rx.changed();
    const it = rx[Symbol.asyncIterator]();
    await it.next(); // the current value
    const next = it.next();
    rx.close();
    rx.close(); // idempotent
    expect(await rejection(waiting)).toBeInstanceOf(RecvError);
    expect(await next).toEqual({ done: true, value: undefined });
    expect(rx.isClosed).toBe(true);
    expect(() => rx.hasChanged()).toThrow(RecvError);
    expect(tx.isClosed).toBe(true);
  });

  it("waitFor resolves at once when the predicate holds, waits otherwise, rejects with what it throws", async () => {
    const [tx, rx] = watch(0);
    expect(await rx.waitFor((v) => v === 0)).toBe(0);
    const waiting = rx.waitFor((v) => v >= 3);
    tx.send(1);
    tx.send(2);
    expect(await isPending(waiting)).toBe(true);
    tx.send(3);
    expect(await waiting).toBe(3);
    const boom = rx.waitFor(() => {
      throw new Error("predicate");
    });
    expect(await rejection(boom)).toMatchObject({ message: "predicate" });
  });

  it("a receiver garbage-collected unclosed closes: the sender's closed() resolves", async () => {
    const [tx, rx] = watch(0);
    rx.close();
    (() => {
      tx.subscribe();
    })();
    expect(tx.isClosed).toBe(false);
    const closed = tx.closed();
    await collectUntil(() => tx.isClosed);
    await within(closed);
  });

  it("a receiver subscribed after every sender closed reads the last value, cannot wait, and is not counted", async () => {
    const [tx, rx] = watch(0);
    const tx2 = tx.clone();
    tx.close();
    const whileOpen = tx.subscribe(); // through a closed handle, but tx2 is open: a live receiver
    expect(tx.receiverCount).toBe(2);
    whileOpen.close();
    tx2.sendReplace(1);
    tx2.close();
    const late = tx.subscribe();
    expect(tx.receiverCount).toBe(1); // rx alone
    expect(late.borrow()).toBe(1);
    expect(late.isClosed).toBe(true);
    expect(() => late.hasChanged()).toThrow(RecvError);
    expect(await rejection(late.changed())).toBeInstanceOf(RecvError);
    const seen: number[] = [];
    for await (const v of late) seen.push(v);
    expect(seen).toEqual([1]);
    // A clone of rx (which has not seen 1) still gets that change once, uncounted.
    const copy = rx.clone();
    expect(tx.receiverCount).toBe(1);
    await copy.changed();
    expect(copy.borrow()).toBe(1);
    expect(await rejection(copy.changed())).toBeInstanceOf(RecvError);
    copy.close();
    late.close(); // not counted, so closing them takes nothing off
    expect(tx.receiverCount).toBe(1);
    const closed = tx.closed();
    expect(await isPending(closed)).toBe(true); // rx still holds it back
    rx.close();
    await within(closed);
    tx.subscribe();
    expect(tx.isClosed).toBe(true);
    await within(tx.closed());
  });

  it("a late receiver collected unclosed takes nothing off the count", async () => {
    const [tx, rx] = watch(0);
    tx.close();
    (() => {
      tx.subscribe();
    })();
    await collectGarbage();
    expect(tx.receiverCount).toBe(1);
    rx.close();
    expect(tx.receiverCount).toBe(0);
  });

  it("a sender garbage-collected unclosed closes: a waiting changed() rejects with RecvError", async () => {
    let rx: WatchReceiver<number> | undefined;
    (() => {
      const [, r] = watch(0);
      rx = r;
    })();
    const receiver = rx as WatchReceiver<number>;
    const waiting = receiver.changed();
    waiting.catch(() => {});
    await collectUntil(() => receiver.isClosed);
    expect(await rejection(waiting)).toBeInstanceOf(RecvError);
  });

  it("bad input: undefined values, a closed handle, clone of a closed handle", () => {
    expect(() => watch(undefined)).toThrow(TypeError);
    const [tx, rx] = watch<string | undefined>("v");
    expect(() => tx.send(undefined)).toThrow(TypeError);
    expect(() => tx.sendReplace(undefined)).toThrow(TypeError);
    const tx2 = tx.clone();
    tx2.close();
    expect(() => tx2.send("w")).toThrow(SendError);
    expect(() => tx2.sendModify(() => "w")).toThrow(SendError);
    expect(() => tx2.clone()).toThrow(/closed/);
    expect(tx.sameChannel(tx2)).toBe(true);
    expect(rx.sameChannel(rx.clone())).toBe(true);
    expect(rx.sameChannel(watch(1)[1] as unknown as WatchReceiver<string | undefined>)).toBe(false);
  });

  describe("in select", () => {
    it("a changed() that loses marks nothing seen; one that wins marks the value seen", async () => {
      const [wtx, wrx] = watch(0);
      const [tx, rx] = channel<string>(1);
      const first = select([wrx.changedOp(), rx.recvOp()]);
      await tx.send("job");
      expect(await first).toEqual({ index: 1, value: "job" });
      wtx.send(1);
      expect(wrx.hasChanged()).toBe(true);
      expect(await select([wrx.changedOp(), rx.recvOp()])).toEqual({ index: 0, value: undefined });
      expect(wrx.hasChanged()).toBe(false);
    });

    it("a waiting changed() is woken by a send, and marks it seen", async () => {
      const [tx, rx] = watch("a");
      const selecting = select([rx.changedOp()]);
      expect(await isPending(selecting)).toBe(true);
      tx.send("b");
      expect((await selecting).index).toBe(0);
      expect(rx.hasChanged()).toBe(false);
    });

    it("a changed() of a closed channel makes select reject with RecvError", async () => {
      const [tx, rx] = watch(0);
      const selecting = select([rx.changedOp()]);
      tx.close();
      expect(await rejection(selecting)).toBeInstanceOf(RecvError);
      expect(await rejection(select([rx.changedOp()]))).toBeInstanceOf(RecvError);
    });

    it("two waits of one receiver in a select: closing the receiver completes one, the other is withdrawn", async () => {
      const [, rx] = watch(0);
      const selecting = select([rx.changedOp(), rx.changedOp()]);
      rx.close();
      expect(await rejection(selecting)).toBeInstanceOf(RecvError);
    });
  });
});
