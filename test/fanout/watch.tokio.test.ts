/**
 * Tokio's `tokio/tests/sync_watch.rs`, ported where the semantics carry over; the Tokio test each one
 * comes from is in the comment above it. Differences on purpose: `changed()` rejects with `RecvError`
 * where Tokio returns `Err`, and `sendModify` may also return a replacement value.
 */
import { RecvError, SendError, type WatchReceiver, watch } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { isPending, rejection, yieldsToEventLoop } from "../support/async.js";

/**
 * Tokio's `assert_pending!(spawn(rx.changed()).poll())`: the wait is pending, and is then dropped.
 * A JavaScript promise cannot be dropped, so the wait is aborted instead; a wait left parked would
 * mark the next value seen when it resolves.
 */
async function waitsForAChange(rx: WatchReceiver<unknown>): Promise<boolean> {
  const giveUp = new AbortController();
  const changed = rx.changed({ signal: giveUp.signal });
  const pending = await isPending(changed);
  giveUp.abort();
  await changed.catch(() => {});
  return pending;
}

describe("watch, as Tokio's sync_watch.rs pins it", () => {
  // single_rx_recv
  it("changed() waits for a send, and rejects once the sender is gone", async () => {
    const [tx, rx] = watch("one");
    expect(await waitsForAChange(rx)).toBe(true); // not notified of the initial value
    expect(rx.borrow()).toBe("one");

    const changed = rx.changed();
    expect(await isPending(changed)).toBe(true);
    tx.send("two");
    await changed;
    expect(rx.borrow()).toBe("two");

    const last = rx.changed();
    expect(await isPending(last)).toBe(true);
    tx.close();
    expect(await rejection(last)).toBeInstanceOf(RecvError);
    expect(rx.borrow()).toBe("two");
  });

  // rx_version_underflow
  it("markChanged twice on a fresh channel is fine", () => {
    const [, rx] = watch("one");
    rx.markChanged();
    rx.markChanged();
    expect(rx.hasChanged()).toBe(true);
  });

  // rx_mark_changed
  it("markChanged makes one receiver see the value as new, and no other", async () => {
    const [tx, rx] = watch("one");
    const rx2 = rx.clone();
    const rx3 = rx.clone();
    const rx4 = rx.clone();

    rx.markChanged();
    expect(rx.hasChanged()).toBe(true);
    await rx.changed();

    expect(rx2.hasChanged()).toBe(false);
    expect(await waitsForAChange(rx2)).toBe(true);

    rx3.markChanged();
    expect(rx3.borrow()).toBe("one");
    expect(rx3.hasChanged()).toBe(true);
    expect(rx3.borrowAndUpdate()).toBe("one");
    expect(rx3.hasChanged()).toBe(false);
    expect(await waitsForAChange(rx3)).toBe(true);

    tx.send("two");
    expect(rx4.hasChanged()).toBe(true);
    expect(rx4.borrowAndUpdate()).toBe("two");
    rx4.markChanged();
    expect(rx4.hasChanged()).toBe(true);
    expect(rx4.borrowAndUpdate()).toBe("two");
    expect(rx.borrow()).toBe("two");
  });

  // rx_mark_unchanged
  it("markUnchanged makes a receiver treat the current value as seen", async () => {
    const [tx, rx] = watch("one");
    const rx2 = rx.clone();
    expect(rx.hasChanged()).toBe(false);
    rx.markChanged();
    expect(rx.hasChanged()).toBe(true);
    rx.markUnchanged();
    expect(rx.hasChanged()).toBe(false);
    expect(await waitsForAChange(rx)).toBe(true);

    expect(rx2.hasChanged()).toBe(false);
    tx.send("two");
    expect(rx2.hasChanged()).toBe(true);
    rx2.markUnchanged();
    expect(rx2.hasChanged()).toBe(false);
    expect(rx2.borrowAndUpdate()).toBe("two");
    expect(rx.borrow()).toBe("two");
  });

  // multi_rx
  it("every waiting receiver is woken by a send, and a wait resolved marks that value seen", async () => {
    const [tx, rx1] = watch("one");
    const rx2 = rx1.clone();
    expect(await waitsForAChange(rx1)).toBe(true);
    const t2 = rx2.changed();
    expect(await isPending(t2)).toBe(true);
    expect(rx1.borrow()).toBe("one");

    const t1 = rx1.changed();
    tx.send("two");
    await t1;
    await t2;
    expect(rx1.borrow()).toBe("two");

    const t1b = rx1.changed();
    expect(await isPending(t1b)).toBe(true);
    tx.send("three");
    await t1b;
    expect(rx1.borrow()).toBe("three");
    // t2 marked "two" seen when it resolved (Tokio marks at the poll, which came after "three").
    expect(rx2.hasChanged()).toBe(true);
    await rx2.changed();
    expect(rx2.borrow()).toBe("three");

    const a = rx1.changed();
    const b = rx2.changed();
    expect(await isPending(a)).toBe(true);
    expect(await isPending(b)).toBe(true);
    tx.send("four");
    await a;
    await b;
    expect(rx1.borrow()).toBe("four");
    expect(rx2.borrow()).toBe("four");
  });

  // rx_observes_final_value
  it("a receiver sees the last value sent before the sender closed, then changed() rejects", async () => {
    {
      const [tx, rx] = watch("one");
      tx.close();
      expect(await rejection(rx.changed())).toBeInstanceOf(RecvError);
      expect(rx.borrow()).toBe("one");
    }
    const [tx, rx] = watch("one");
    tx.send("two");
    await rx.changed();
    expect(rx.borrow()).toBe("two");
    const t = rx.changed();
    expect(await isPending(t)).toBe(true);
    tx.send("three");
    tx.close();
    await t;
    expect(rx.borrow()).toBe("three");
    expect(await rejection(rx.changed())).toBeInstanceOf(RecvError);
    expect(rx.borrow()).toBe("three");
  });

  // poll_close
  it("the sender's closed() resolves when the receiver closes, and send then throws", async () => {
    const [tx, rx] = watch("one");
    const closed = tx.closed();
    expect(await isPending(closed)).toBe(true);
    rx.close();
    await closed;
    expect(() => tx.send("two")).toThrow(SendError);
  });

  // borrow_and_update
  it("borrowAndUpdate marks seen; hasChanged throws once the sender is gone", async () => {
    const [tx, rx] = watch("one");
    expect(rx.hasChanged()).toBe(false);
    tx.send("two");
    expect(rx.hasChanged()).toBe(true);
    await rx.changed();
    expect(await waitsForAChange(rx)).toBe(true);
    expect(rx.hasChanged()).toBe(false);

    tx.send("three");
    expect(rx.hasChanged()).toBe(true);
    expect(rx.borrowAndUpdate()).toBe("three");
    expect(await waitsForAChange(rx)).toBe(true);
    expect(rx.hasChanged()).toBe(false);

    tx.close();
    expect(rx.borrowAndUpdate()).toBe("three");
    expect(await rejection(rx.changed())).toBeInstanceOf(RecvError);
    expect(() => rx.hasChanged()).toThrow(RecvError);
  });

  // reopened_after_subscribe
  it("the sender is closed while no receiver is left, and open again after a subscribe", () => {
    const [tx, rx] = watch("one");
    expect(tx.isClosed).toBe(false);
    rx.close();
    expect(tx.isClosed).toBe(true);
    const rx2 = tx.subscribe();
    expect(tx.isClosed).toBe(false);
    rx2.close();
    expect(tx.isClosed).toBe(true);
  });

  // send_modify_panic
  it("a sendModify that throws wakes nobody, keeps what it changed in place, and the next one wakes", async () => {
    const [tx, rx] = watch({ v: "one" });
    tx.sendModify((s) => {
      s.v = "two";
    });
    expect(rx.borrowAndUpdate().v).toBe("two");
    const rx2 = rx.clone();
    expect(rx2.borrowAndUpdate().v).toBe("two");
    const changed = rx2.changed();
    expect(() =>
      tx.sendModify((s) => {
        s.v = "panicked";
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(await isPending(changed)).toBe(true);
    expect(rx.borrow().v).toBe("panicked");
    tx.sendModify((s) => {
      s.v = "three";
    });
    await changed;
    expect(rx.borrowAndUpdate().v).toBe("three");
  });

  // multiple_sender
  it("values from two sender handles are seen in order", async () => {
    const [tx1, rx] = watch(0);
    const tx2 = tx1.clone();
    const seen = (async () => {
      await rx.changed();
      const v1 = rx.borrowAndUpdate();
      await rx.changed();
      const v2 = rx.borrowAndUpdate();
      return [v1, v2];
    })();
    tx1.send(1);
    await new Promise((resolve) => setImmediate(resolve));
    tx2.send(2);
    expect(await seen).toEqual([1, 2]);
  });

  // receiver_is_notified_when_last_sender_is_dropped
  it("a waiting receiver is woken when the last sender handle closes, not before", async () => {
    const [tx1, rx] = watch(0);
    const tx2 = tx1.clone();
    const t = rx.changed();
    expect(await isPending(t)).toBe(true);
    tx1.close();
    expect(await isPending(t)).toBe(true);
    tx2.close();
    expect(await rejection(t)).toBeInstanceOf(RecvError);
  });

  // receiver_changed_is_cooperative
  it("a loop of changed() on a closed channel (handling the error) still lets the event loop run", async () => {
    const [tx, rx] = watch(0);
    tx.close();
    await yieldsToEventLoop(() =>
      rx.changed().catch((err: unknown) => expect(err).toBeInstanceOf(RecvError)),
    );
  });

  // receiver_changed_is_cooperative_ok
  it("a loop of send and changed() still lets the event loop run", async () => {
    const [tx, rx] = watch(0);
    await yieldsToEventLoop(() => {
      tx.send(1);
      return rx.changed();
    });
  });

  // receiver_wait_for_is_cooperative
  it("a loop of waitFor on a closed channel still lets the event loop run", async () => {
    const [tx, rx] = watch(0);
    tx.close();
    await yieldsToEventLoop(() =>
      rx.waitFor((v) => v === 1).catch((err: unknown) => expect(err).toBeInstanceOf(RecvError)),
    );
  });

  // receiver_wait_for_is_cooperative_ok
  it("a loop of send and waitFor still lets the event loop run", async () => {
    const [tx, rx] = watch(0);
    await yieldsToEventLoop(() => {
      tx.send(1);
      return rx.waitFor((v) => v === 1);
    });
  });

  // sender_closed_is_cooperative
  it("a loop awaiting closed() of a channel without receivers still lets the event loop run", async () => {
    const [tx, rx] = watch(0);
    rx.close();
    await yieldsToEventLoop(() => tx.closed());
  });

  // changed_succeeds_on_closed_channel_with_unseen_value
  it("changed() resolves on a closed channel while a value is unseen", async () => {
    const [tx, rx] = watch("A");
    tx.send("B");
    tx.close();
    await rx.changed();
    expect(rx.borrow()).toBe("B");
  });

  // changed_errors_on_closed_channel_with_seen_value
  it("changed() rejects on a closed channel whose value was seen", async () => {
    const [tx, rx] = watch("A");
    tx.close();
    expect(await rejection(rx.changed())).toBeInstanceOf(RecvError);
  });

  // has_changed_errors_on_closed_channel_with_unseen_value, ..._with_seen_value
  it("hasChanged throws once the channel is closed, whether or not a value is unseen", () => {
    const [tx, rx] = watch("A");
    tx.send("B");
    tx.close();
    expect(() => rx.hasChanged()).toThrow(RecvError);
    const [tx2, rx2] = watch("A");
    tx2.close();
    expect(() => rx2.hasChanged()).toThrow(RecvError);
  });

  // wait_for_errors_on_closed_channel_true_predicate
  it("waitFor resolves on a closed channel when the last value satisfies the predicate", async () => {
    const [tx, rx] = watch("A");
    tx.send("B");
    tx.close();
    expect(await rx.waitFor(() => true)).toBe("B");
  });
});
