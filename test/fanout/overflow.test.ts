import fc from "fast-check";
import { channel, SendError, TrySendError } from "grpc-mpsc";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isPending, rejection } from "../support/async.js";

/** Everything left in the channel now. */
function drain<T>(rx: { tryRecv(): { ok: true; value: T } | { ok: false } }): T[] {
  const out: T[] = [];
  for (let r = rx.tryRecv(); r.ok; r = rx.tryRecv()) out.push(r.value);
  return out;
}

describe("overflow policies", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('"drop-oldest": send never waits, the oldest buffered values make room and go to onDrop, counted', async () => {
    const dropped: number[] = [];
    const [tx, rx] = channel<number>(3, { overflow: "drop-oldest", onDrop: (v) => dropped.push(v) });
    for (let i = 0; i < 10; i++) {
      const sent = tx.send(i);
      expect(await isPending(sent)).toBe(false);
    }
    expect(dropped).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(tx.dropped).toBe(7);
    expect(rx.dropped).toBe(7);
    expect(rx.len).toBe(3);
    expect(drain(rx)).toEqual([7, 8, 9]);
  });

  it('"drop-newest": a value sent into a full channel is dropped, the buffered ones stay', () => {
    const dropped: number[] = [];
    const [tx, rx] = channel<number>(2, { overflow: "drop-newest", onDrop: (v) => dropped.push(v) });
    for (let i = 0; i < 5; i++) tx.trySend(i); // never "full"
    expect(dropped).toEqual([2, 3, 4]);
    expect(rx.dropped).toBe(3);
    expect(drain(rx)).toEqual([0, 1]);
  });

  it("without onDrop the drops are still counted", async () => {
    const [tx, rx] = channel<string>(1, { overflow: "drop-oldest" });
    await tx.send("a");
    await tx.send("b");
    expect(tx.dropped).toBe(1);
    expect(drain(rx)).toEqual(["b"]);
  });

  it('"wait" is the default and keeps the waiting behaviour, with no drops counted', async () => {
    for (const options of [undefined, {}, { overflow: "wait" as const }]) {
      const [tx, rx] = channel<number>(1, options);
      await tx.send(1);
      const second = tx.send(2);
      expect(await isPending(second)).toBe(true);
      expect(() => tx.trySend(3)).toThrow(TrySendError);
      expect(await rx.recv()).toBe(1);
      await second;
      expect(tx.dropped).toBe(0);
    }
  });

  it("a closed channel refuses with a drop policy as without: the value comes back, it is not a drop", async () => {
    const onDrop = vi.fn();
    const [tx, rx] = channel<number>(1, { overflow: "drop-oldest", onDrop });
    rx.close();
    const err = await rejection(tx.send(1));
    expect(err).toBeInstanceOf(SendError);
    expect((err as SendError<number>).value).toBe(1);
    expect(() => tx.trySend(2)).toThrow(expect.objectContaining({ kind: "closed", value: 2 }));
    expect(onDrop).not.toHaveBeenCalled();
    expect(tx.dropped).toBe(0);
  });

  it("a waiting receiver gets the value straight away, nothing is dropped", async () => {
    const [tx, rx] = channel<number>(1, { overflow: "drop-newest" });
    const got = rx.recv();
    await tx.send(1);
    await tx.send(2);
    expect(await got).toBe(1);
    expect(drain(rx)).toEqual([2]);
    expect(rx.dropped).toBe(0);
  });

  it("drop-oldest with every slot held by a permit has nothing to evict: the new value is dropped", async () => {
    const dropped: string[] = [];
    const [tx, rx] = channel<string>(1, { overflow: "drop-oldest", onDrop: (v) => dropped.push(v) });
    const permit = tx.tryReserve();
    await tx.send("late");
    expect(dropped).toEqual(["late"]);
    permit.send("reserved");
    expect(drain(rx)).toEqual(["reserved"]);
  });

  it("reserve still waits for a slot with a drop policy, and is granted it first", async () => {
    const [tx, rx] = channel<string>(1, { overflow: "drop-oldest" });
    await tx.send("a");
    const reserving = tx.reserve();
    expect(await isPending(reserving)).toBe(true);
    expect(await rx.recv()).toBe("a");
    const permit = await reserving;
    await tx.send("b"); // the slot is the permit's: "b" is dropped, nothing buffered to evict
    permit.send("c");
    expect(drain(rx)).toEqual(["c"]);
    expect(rx.dropped).toBe(1);
  });

  it("an onDrop that throws is reported as an uncaught exception after the drop, and the channel stays sound", () => {
    const rethrows: (() => void)[] = [];
    vi.spyOn(globalThis, "queueMicrotask").mockImplementation((callback) => {
      rethrows.push(callback);
    });
    const [tx, rx] = channel<number>(1, {
      overflow: "drop-oldest",
      onDrop: () => {
        throw new Error("onDrop failed");
      },
    });
    tx.trySend(1);
    expect(() => tx.trySend(2)).not.toThrow();
    vi.restoreAllMocks();
    expect(rethrows).toHaveLength(1);
    expect(() => rethrows[0]?.()).toThrow("onDrop failed");
    expect(tx.dropped).toBe(1);
    expect(drain(rx)).toEqual([2]);
  });

  it("onDrop may send again from inside the send that dropped", () => {
    const [tx, rx] = channel<string>(2, {
      overflow: "drop-oldest",
      onDrop: (v) => {
        if (v === "a") tx.trySend("again");
      },
    });
    tx.trySend("a");
    tx.trySend("b");
    tx.trySend("c"); // drops "a", whose onDrop sends "again", which drops "b"
    expect(drain(rx)).toEqual(["c", "again"]);
    expect(rx.dropped).toBe(2);
  });

  it("nothing is lost silently: every value sent is received or handed to onDrop, in order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom("drop-oldest" as const, "drop-newest" as const),
        fc.array(fc.constantFrom("send", "trySend", "recv", "tryRecv"), { maxLength: 60 }),
        async (capacity, overflow, ops) => {
          const dropped: number[] = [];
          // One slot per receive, in call order: the channel serves receives in that order.
          const slots: number[][] = [];
          const slot = (): number[] => {
            const s: number[] = [];
            slots.push(s);
            return s;
          };
          const [tx, rx] = channel<number>(capacity, { overflow, onDrop: (v) => dropped.push(v) });
          let next = 0;
          const pending: Promise<unknown>[] = [];
          for (const op of ops) {
            if (op === "send") pending.push(tx.send(next++));
            else if (op === "trySend") tx.trySend(next++);
            else if (op === "recv") {
              const into = slot();
              pending.push(rx.recv().then((v) => v !== undefined && into.push(v)));
            } else {
              const r = rx.tryRecv();
              if (r.ok) slot().push(r.value);
            }
            expect(rx.len).toBeLessThanOrEqual(capacity);
          }
          tx.close();
          await Promise.all(pending);
          slot().push(...drain(rx));
          const received = slots.flat();
          expect([...received, ...dropped].sort((a, b) => a - b)).toEqual(
            Array.from({ length: next }, (_, i) => i),
          );
          expect(received).toEqual([...received].sort((a, b) => a - b));
          expect(rx.dropped).toBe(dropped.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
