/**
 * Closing a watch receiver must cost O(its own waits), not O(every parked wait of the channel): the
 * old `unsubscribe` walked the whole wait list to find the closing receiver's waits, so closing n
 * waiting receivers was O(n^2) (20,000 took 5 s of blocked event loop). Counted, not timed: these
 * tests reach the shared state (an internal) and count how many parked waits are stepped over.
 */
import { select } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import type { Waiter } from "../../src/channel/waiters.js";
import { type WatchCursor, WatchReceiver, WatchShared } from "../../src/fanout/watch.js";
import { rejection } from "../support/async.js";

/** Makes every waiter parked in `shared` count the reads of its `next` link (a step of a list walk). */
function countSteps(shared: WatchShared<number>): { reads: number } {
  const counter = { reads: 0 };
  for (let w: Waiter | null = shared.waiters.head; w !== null; ) {
    const waiter: Waiter = w;
    let next = waiter.next;
    Object.defineProperty(waiter, "next", {
      configurable: true,
      get: () => {
        counter.reads++;
        return next;
      },
      set: (v: Waiter | null) => {
        next = v;
      },
    });
    w = next;
  }
  counter.reads = 0;
  return counter;
}

describe("watch: closing a receiver visits its own waits only", () => {
  it("closing n waiting receivers steps over O(n) waits in all, and rejects each one's wait", async () => {
    const n = 2000;
    const shared = new WatchShared(0);
    const cursors: WatchCursor<number>[] = Array.from({ length: n }, () => shared.subscribe());
    const waits = cursors.map((c) => rejection(shared.park(c, undefined)));
    const steps = countSteps(shared);
    for (const c of cursors) shared.unsubscribe(c);
    // The walk of the old version read n(n+1)/2 = 2,001,000 links here; an unlink reads a few.
    expect(steps.reads).toBeLessThanOrEqual(4 * n);
    expect(shared.waiters.head).toBe(null);
    expect(shared.receivers.count).toBe(0);
    for (const err of await Promise.all(waits)) expect(err).toMatchObject({ name: "RecvError" });
  });

  it("closing a receiver in the middle leaves the others' waits parked, and a send wakes them", async () => {
    const shared = new WatchShared(0);
    const [a, b, c] = [shared.subscribe(), shared.subscribe(), shared.subscribe()];
    const waitA = shared.park(a, undefined);
    const waitsB = [shared.park(b, undefined), shared.park(b, undefined)];
    const waitC = shared.park(c, undefined);
    const rejectedB = waitsB.map((p) => rejection(p));
    shared.unsubscribe(b);
    expect(b.parkedCount).toBe(0);
    for (const err of await Promise.all(rejectedB)) expect(err).toMatchObject({ name: "RecvError" });
    shared.notify();
    await Promise.all([waitA, waitC]);
    expect([a.parkedCount, c.parkedCount]).toEqual([0, 0]);
    expect(shared.waiters.head).toBe(null);
  });

  it("a receiver forgets its waits however they leave: woken, aborted, withdrawn from a select, ended", async () => {
    const shared = new WatchShared(0);
    const c = shared.subscribe();
    const woken = shared.park(c, undefined);
    shared.notify();
    await woken;
    expect(c.parkedCount).toBe(0);

    const giveUp = new AbortController();
    const aborted = rejection(shared.park(c, giveUp.signal));
    expect(c.parkedCount).toBe(1);
    giveUp.abort("gone");
    expect(await aborted).toBe("gone");
    expect(c.parkedCount).toBe(0);

    const ended = rejection(shared.park(c, undefined));
    shared.dropSender();
    expect(await ended).toMatchObject({ name: "RecvError" });
    expect(c.parkedCount).toBe(0);
  });

  it("a select's losing changed() leaves its receiver's parked waits; so does the winner", async () => {
    const sharedA = new WatchShared(0);
    const sharedB = new WatchShared(0);
    const [a, b] = [sharedA.subscribe(), sharedB.subscribe()];
    const selecting = select([new WatchReceiver(a).changedOp(), new WatchReceiver(b).changedOp()]);
    expect([a.parkedCount, b.parkedCount]).toEqual([1, 1]);
    sharedA.notify();
    expect((await selecting).index).toBe(0);
    expect([a.parkedCount, b.parkedCount]).toEqual([0, 0]);
    expect(sharedB.waiters.head).toBe(null);
  });

  it("two waits of one receiver in one select: closing it ends the select once, and forgets both", async () => {
    const shared = new WatchShared(0);
    const c = shared.subscribe();
    const rx = new WatchReceiver(c);
    const selecting = select([rx.changedOp(), rx.changedOp()]);
    expect(c.parkedCount).toBe(2);
    rx.close();
    expect(await rejection(selecting)).toMatchObject({ name: "RecvError" });
    expect(c.parkedCount).toBe(0);
    expect(shared.waiters.head).toBe(null);
  });
});
