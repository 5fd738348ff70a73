/**
 * Tokio's `tokio/tests/sync_broadcast.rs`, ported where the semantics carry over. Test names say the
 * behaviour; the Tokio test each one comes from is in the comment above it. Differences on purpose:
 * the capacity is exact (Tokio rounds it up to a power of two), `recv` ends with `undefined` instead
 * of `Err(Closed)`, and a gap is a `Lagged` result rather than `Err(Lagged)`.
 */
import { type BroadcastReceiver, type BroadcastTryRecvResult, broadcast, Lagged, SendError } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { isPending, yieldsToEventLoop } from "../support/async.js";

/** Tokio's `assert_recv!`: a value is there now. */
function recvNow<T>(rx: BroadcastReceiver<T>): T {
  const r: BroadcastTryRecvResult<T> = rx.tryRecv();
  if (!r.ok) throw new Error(`expected a value, got ${JSON.stringify(r)}`);
  return r.value;
}
/** Tokio's `assert_empty!`. */
const expectEmpty = (rx: BroadcastReceiver<unknown>): void => {
  expect(rx.tryRecv()).toEqual({ ok: false, reason: "empty" });
};
/** Tokio's `assert_lagged!`. */
const expectLagged = (rx: BroadcastReceiver<unknown>, missed: number): void => {
  const r = rx.tryRecv();
  expect(r).toBeInstanceOf(Lagged);
  expect(r).toMatchObject({ ok: false, reason: "lagged", missed });
};
/** Tokio's `assert_closed!`. */
const expectClosed = (rx: BroadcastReceiver<unknown>): void => {
  expect(rx.tryRecv()).toEqual({ ok: false, reason: "closed" });
};

describe("broadcast, as Tokio's sync_broadcast.rs pins it", () => {
  // send_try_recv_bounded
  it("a value sent is received once by the one receiver, and send counts it", () => {
    const [tx, rx] = broadcast<string>(16);
    expectEmpty(rx);
    expect(tx.send("hello")).toBe(1);
    expect(recvNow(rx)).toBe("hello");
    expectEmpty(rx);
  });

  // send_two_recv
  it("every receiver gets every value", () => {
    const [tx, rx1] = broadcast<string>(16);
    const rx2 = tx.subscribe();
    expectEmpty(rx1);
    expectEmpty(rx2);
    expect(tx.send("hello")).toBe(2);
    expect(recvNow(rx1)).toBe("hello");
    expect(recvNow(rx2)).toBe("hello");
    expectEmpty(rx1);
    expectEmpty(rx2);
  });

  // send_recv_bounded
  it("a waiting recv is woken by the next send", async () => {
    const [tx, rx] = broadcast<string>(16);
    const recv = rx.recv();
    expect(await isPending(recv)).toBe(true);
    tx.send("hello");
    expect(await recv).toBe("hello");
  });

  // send_two_recv_bounded
  it("two waiting receivers are both woken, and a receiver that was not waiting still gets the value", async () => {
    const [tx, rx1] = broadcast<string>(16);
    const rx2 = tx.subscribe();
    const recv1 = rx1.recv();
    const recv2 = rx2.recv();
    expect(await isPending(recv1)).toBe(true);
    expect(await isPending(recv2)).toBe(true);
    tx.send("hello");
    expect(await recv1).toBe("hello");
    expect(await recv2).toBe("hello");

    const again1 = rx1.recv();
    expect(await isPending(again1)).toBe(true);
    tx.send("world");
    expect(await again1).toBe("world");
    expect(await rx2.recv()).toBe("world");
  });

  // send_slow_rx
  it("a slow receiver within capacity gets every value, in order", async () => {
    const [tx, rx1] = broadcast<string>(16);
    const rx2 = tx.subscribe();
    const recv2 = rx2.recv();
    const recv1 = rx1.recv();
    expect(await isPending(recv1)).toBe(true);
    tx.send("one");
    tx.send("two");
    expect(await recv1).toBe("one");
    expect(await rx1.recv()).toBe("two");
    const recv1b = rx1.recv();
    expect(await isPending(recv1b)).toBe(true);
    tx.send("three");
    expect(await recv1b).toBe("three");
    expect(await recv2).toBe("one");
    expect(recvNow(rx2)).toBe("two");
    expect(recvNow(rx2)).toBe("three");
  });

  // drop_rx_while_values_remain
  it("closing receivers while values remain unread is fine", () => {
    const [tx, rx1] = broadcast<string>(16);
    const rx2 = tx.subscribe();
    tx.send("one");
    tx.send("two");
    recvNow(rx1);
    recvNow(rx2);
    rx2.close();
    rx1.close();
    expect(tx.receiverCount).toBe(0);
    expect(tx.len).toBe(0);
  });

  // lagging_rx
  it("a receiver that falls behind gets Lagged with the count, then goes on from the oldest value held", () => {
    const [tx, rx1] = broadcast<string>(2);
    const rx2 = tx.subscribe();
    tx.send("one");
    tx.send("two");
    expect(recvNow(rx1)).toBe("one");
    tx.send("three");
    expectLagged(rx2, 1);
    expect(recvNow(rx2)).toBe("two");
    expect(recvNow(rx1)).toBe("two");
    expect(recvNow(rx1)).toBe("three");
    tx.send("four");
    tx.send("five");
    expectLagged(rx2, 1);
    tx.send("six");
    expectLagged(rx2, 1);
  });

  // send_no_rx
  it("send with no receiver throws SendError carrying the value, and a later subscriber starts after it", () => {
    const [tx, rx0] = broadcast<string>(16);
    rx0.close();
    expect(() => tx.send("hello")).toThrow(SendError);
    expect(() => tx.send("hello")).toThrow(expect.objectContaining({ value: "hello" }));
    const rx = tx.subscribe();
    tx.send("world");
    expect(recvNow(rx)).toBe("world");
    expectEmpty(rx);
  });

  // zero_capacity, capacity_too_big
  it("capacity 0 and a capacity above 2^30 are refused with a RangeError naming capacity", () => {
    expect(() => broadcast(0)).toThrow(/`capacity`/);
    expect(() => broadcast(0)).toThrow(/from 1 to 1073741824/);
    expect(() => broadcast(2 ** 30 + 1)).toThrow(RangeError);
    expect(() => broadcast(2 ** 30 + 1)).toThrow(/from 1 to 1073741824/);
  });

  // dropping_tx_notifies_rx
  it("waiting receivers end only once the last sender handle is closed", async () => {
    const [tx, rx1] = broadcast<number>(16);
    const rx2 = tx.subscribe();
    const tx2 = tx.clone();
    const recv1 = rx1.recv();
    const recv2 = rx2.recv();
    tx.close();
    expect(await isPending(recv1)).toBe(true);
    expect(await isPending(recv2)).toBe(true);
    tx2.close();
    expect(await recv1).toBeUndefined();
    expect(await recv2).toBeUndefined();
  });

  // unconsumed_messages_are_dropped
  it("a value no receiver will read is released: closing the last receiver frees it", async () => {
    const [tx, rx] = broadcast<object>(16);
    let msg: object | undefined = { big: "payload" };
    const ref = new WeakRef(msg);
    tx.send(msg);
    msg = undefined;
    rx.close();
    await new Promise((resolve) => setImmediate(resolve));
    global.gc?.();
    expect(ref.deref()).toBeUndefined();
  });

  // resubscribe_points_to_tail
  it("resubscribe starts at the next value sent and does not move the original", () => {
    const [tx, rx] = broadcast<number>(3);
    tx.send(1);
    const resub = rx.resubscribe();
    expectEmpty(resub);
    expect(recvNow(rx)).toBe(1);
    tx.send(2);
    expect(recvNow(resub)).toBe(2);
    tx.send(3);
    expect(recvNow(rx)).toBe(2);
    expect(recvNow(rx)).toBe(3);
    expectEmpty(rx);
    expect(recvNow(resub)).toBe(3);
    expectEmpty(resub);
  });

  // resubscribe_lagged
  it("resubscribe from a lagging receiver starts clean", () => {
    const [tx, rx] = broadcast<number>(1);
    tx.send(1);
    tx.send(2);
    const resub = rx.resubscribe();
    expectLagged(rx, 1);
    expectEmpty(resub);
    expect(recvNow(rx)).toBe(2);
    expectEmpty(rx);
    expectEmpty(resub);
  });

  // resubscribe_to_closed_channel
  it("resubscribe to a closed channel gives a receiver that is closed", () => {
    const [tx, rx] = broadcast<number>(2);
    tx.close();
    const resub = rx.resubscribe();
    expectClosed(resub);
  });

  // sender_len
  it("the sender's len counts the values some receiver has not read", () => {
    const [tx, rx1] = broadcast<number>(4);
    const rx2 = tx.subscribe();
    expect(tx.len).toBe(0);
    expect(tx.isEmpty).toBe(true);
    for (const v of [1, 2, 3]) tx.send(v);
    expect(tx.len).toBe(3);
    expect(tx.isEmpty).toBe(false);
    recvNow(rx1);
    recvNow(rx1);
    expect(tx.len).toBe(3);
    recvNow(rx2);
    expect(tx.len).toBe(2);
    for (const v of [4, 5, 6]) tx.send(v);
    expect(tx.len).toBe(4);
  });

  // sender_len_random
  it("the sender's len is the furthest-behind receiver's backlog, capped at capacity, under random operations", () => {
    const [tx, rx1] = broadcast<number>(16);
    const rx2 = tx.subscribe();
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 4;
    };
    for (let i = 0; i < 1000; i++) {
      const r = random();
      if (r === 0) rx1.tryRecv();
      else if (r === 1) rx2.tryRecv();
      else tx.send(0);
      expect(tx.len).toBe(Math.min(Math.max(rx1.len, rx2.len), 16));
    }
  });

  // receiver_recv_is_cooperative
  it("a loop of send and recv that never waits still lets the event loop run", async () => {
    const [tx, rx] = broadcast<number>(8);
    let i = 0;
    await yieldsToEventLoop(async () => {
      tx.send(i);
      expect(await rx.recv()).toBe(i++);
    });
  });

  // broadcast_sender_closed
  it("the sender's closed() resolves when the last receiver is closed", async () => {
    const [tx, rx] = broadcast<number>(1);
    const rx2 = tx.subscribe();
    const closed = tx.closed();
    expect(await isPending(closed)).toBe(true);
    rx.close();
    expect(await isPending(closed)).toBe(true);
    rx2.close();
    await closed;
  });

  // broadcast_sender_closed_with_extra_subscribe
  it("a subscribe after the last receiver closed makes closed() wait again", async () => {
    const [tx, rx] = broadcast<number>(1);
    const rx2 = tx.subscribe();
    const closed = tx.closed();
    rx.close();
    rx2.close();
    await closed;
    const rx3 = tx.subscribe();
    const again = tx.closed();
    expect(await isPending(again)).toBe(true);
    rx3.close();
    await again;
    await tx.closed(); // none now: at once
    const rx4 = tx.subscribe();
    const third = tx.closed();
    expect(await isPending(third)).toBe(true);
    rx4.close();
    await third;
  });

  // broadcast_sender_new_must_be_closed (a channel without receivers)
  it("closed() resolves at once when there is no receiver, and waits once one subscribes", async () => {
    const [tx, rx] = broadcast<number>(1);
    rx.close();
    await tx.closed();
    const rx2 = tx.subscribe();
    expect(await isPending(tx.closed())).toBe(true);
    rx2.close();
  });

  // async_recv_lagged_then_resumes_from_oldest_retained
  it("recv reports the same Lagged as tryRecv", async () => {
    const [tx, rx] = broadcast<number>(2);
    for (const v of [10, 20, 30]) tx.send(v);
    const gap = await rx.recv();
    expect(gap).toBeInstanceOf(Lagged);
    expect((gap as Lagged).missed).toBe(1);
    expect(await rx.recv()).toBe(20);
    expect(await rx.recv()).toBe(30);
  });

  // lag_is_per_receiver (whose start is slow_receiver_within_capacity_does_not_lag)
  it("only the slow receiver lags, and only once it is more than capacity behind", () => {
    const [tx, slow] = broadcast<number>(2);
    const fast = tx.subscribe();
    const withinCapacity = tx.subscribe();
    tx.send(1);
    tx.send(2);
    expect(recvNow(fast)).toBe(1);
    expect(recvNow(fast)).toBe(2);
    expect(recvNow(withinCapacity)).toBe(1); // slower than fast, but not more than capacity behind
    expect(recvNow(withinCapacity)).toBe(2);
    expectEmpty(withinCapacity);
    tx.send(3);
    tx.send(4);
    expect(recvNow(fast)).toBe(3);
    expect(recvNow(fast)).toBe(4);
    expectLagged(slow, 2);
    expect(recvNow(slow)).toBe(3);
    expect(recvNow(slow)).toBe(4);
    expectEmpty(slow);
    expectEmpty(fast);
  });

  /**
   * One receiver, a script of sends and expected receives: `{ send }` sends values, `"close"` closes the
   * sender, a number is the value `tryRecv` must give, `{ lagged }` the gap it must report, `"empty"` and
   * `"closed"` what it must say when there is nothing, `{ len }` the receiver's `len`.
   */
  type Step =
    | { send: number[] }
    | "close"
    | number
    | { lagged: number }
    | "empty"
    | "closed"
    | { len: number };
  const scripts: [behaviour: string, tokio: string, capacity: number, steps: Step[]][] = [
    ["capacity 1 holds one value", "single_capacity_recvs", 1, [{ send: [1] }, 1, "empty"]],
    [
      "the value held is received after the sender closed, then the end",
      "single_capacity_recvs_after_drop_1",
      1,
      [{ send: [1] }, "close", 1, "closed"],
    ],
    [
      "after the sender closed, a lagging receiver gets the gap, then the value held, then the end",
      "single_capacity_recvs_after_drop_2",
      1,
      [{ send: [1, 2] }, "close", { lagged: 1 }, 2, "closed"],
    ],
    [
      "closing the sender does not overwrite a value",
      "dropping_sender_does_not_overwrite",
      2,
      [{ send: [1, 2] }, "close", 1, 2, "closed"],
    ],
    [
      "a receiver one behind on a closed channel reports the gap and reads the rest",
      "lagging_receiver_recovers_after_wrap_closed_1",
      2,
      [{ send: [1, 2, 3] }, "close", { lagged: 1 }, 2, 3, "closed"],
    ],
    [
      "a receiver two behind on a closed channel reports 2 missed and reads the rest",
      "lagging_receiver_recovers_after_wrap_closed_2",
      2,
      [{ send: [1, 2, 3, 4] }, "close", { lagged: 2 }, 3, 4, "closed"],
    ],
    [
      "overflow reports Lagged, then the oldest value held, then empty on an open channel",
      "capacity_overflow_reports_lagged_then_oldest_retained, lagging_receiver_recovers_after_wrap_open",
      2,
      [{ send: [10, 20, 30] }, { lagged: 1 }, 20, 30, "empty"],
    ],
    [
      "a receiver's len counts the values it lost until it reads the gap (capacity exact: 3 holds three)",
      "receiver_len_with_lagged",
      3,
      [
        { send: [10, 20, 30, 40] },
        { len: 4 },
        { lagged: 1 },
        { len: 3 },
        20,
        { send: [50, 60] },
        { len: 4 },
        { lagged: 1 },
      ],
    ],
    [
      "Lagged counts every value overwritten since the receiver's position, not merely one",
      "lagged_count_matches_number_of_overwritten_messages",
      4,
      [{ send: [1, 2, 3, 4] }, 1, { send: [5, 6, 7, 8] }, { lagged: 3 }, 5, 6, 7, 8, "empty"],
    ],
    [
      "the capacity is exact, not rounded up: capacity 3 lags on the fourth unread value",
      "lag_uses_power_of_two_buffer_length (Tokio rounds 3 up to 4)",
      3,
      [
        { send: [1, 2, 3] },
        { len: 3 },
        1,
        { send: [4] },
        { len: 3 },
        { send: [5] },
        { len: 4 },
        { lagged: 1 },
        3,
        4,
        5,
        "empty",
      ],
    ],
    [
      "a receiver that lags, catches up and lags again reports only the new gap",
      "lag_catch_up_then_lag_again",
      2,
      [{ send: [1, 2, 3] }, { lagged: 1 }, 2, 3, "empty", { send: [4, 5, 6] }, { lagged: 1 }, 5, 6, "empty"],
    ],
    [
      "lagging again before reading counts from the position the first gap moved to",
      "lag_again_before_reading_retained_messages",
      2,
      [{ send: [1, 2, 3] }, { lagged: 1 }, { send: [4, 5, 6] }, { lagged: 3 }, 5, 6, "empty"],
    ],
    [
      "with capacity 1 each unread send after the first loses exactly one",
      "single_slot_capacity_lag_semantics",
      1,
      [{ send: [1] }, 1, { send: [2, 3] }, { lagged: 1 }, 3, "empty"],
    ],
    [
      "len counts from the old position until the gap is read, then what is held",
      "receiver_len_after_lag_error_advances_cursor",
      2,
      [{ send: [1, 2, 3, 4] }, { len: 4 }, { lagged: 2 }, { len: 2 }, 3, { len: 1 }, 4, { len: 0 }],
    ],
  ];

  it.each(scripts)("%s (tokio: %s)", (_behaviour, _tokio, capacity, steps) => {
    const [tx, rx] = broadcast<number>(capacity);
    for (const step of steps) {
      if (step === "close") tx.close();
      else if (step === "empty") expectEmpty(rx);
      else if (step === "closed") expectClosed(rx);
      else if (typeof step === "number") expect(recvNow(rx)).toBe(step);
      else if ("send" in step) for (const v of step.send) tx.send(v);
      else if ("lagged" in step) expectLagged(rx, step.lagged);
      else expect(rx.len).toBe(step.len);
    }
  });
});
