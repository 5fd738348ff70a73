import { channel } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { isPending, rejection, within } from "../support/async.js";

describe("aborting a wait", () => {
  it("an aborted send enqueues nothing and the next waiter gets the slot", async () => {
    const [tx, rx] = channel<string>(1);
    await tx.send("a");
    const controller = new AbortController();
    const aborted = tx.send("aborted", { signal: controller.signal });
    const next = tx.send("next");
    controller.abort(new Error("changed my mind"));
    expect(await rejection(aborted)).toMatchObject({ message: "changed my mind" });
    expect(await rx.recv()).toBe("a");
    await within(next);
    expect(await rx.recv()).toBe("next");
    expect(rx.len).toBe(0);
  });

  it("an already aborted signal rejects at once with its reason, even with room", async () => {
    const [tx, rx] = channel<string>(4);
    const reason = new Error("too late");
    const signal = AbortSignal.abort(reason);
    expect(await rejection(tx.send("x", { signal }))).toBe(reason);
    expect(await rejection(tx.reserve({ signal }))).toBe(reason);
    expect(await rejection(rx.recv({ signal }))).toBe(reason);
    expect(await rejection(rx.recvMany(2, { signal }))).toBe(reason);
    expect(rx.len).toBe(0);
    expect(tx.capacity).toBe(4);
  });

  it("an aborted recv consumes nothing: a later value goes to the next recv", async () => {
    const [tx, rx] = channel<number>(1);
    const controller = new AbortController();
    const aborted = rx.recv({ signal: controller.signal });
    controller.abort();
    expect(((await rejection(aborted)) as Error).name).toBe("AbortError");
    await tx.send(5);
    expect(await rx.recv()).toBe(5);
  });

  it("an aborted reserve holds no slot", async () => {
    const [tx] = channel<number>(1);
    const held = tx.tryReserve();
    const controller = new AbortController();
    const waiting = tx.reserve({ signal: controller.signal });
    controller.abort();
    await rejection(waiting);
    held.release();
    expect(tx.capacity).toBe(1);
  });

  it("100,000 parked sends aborted retain nothing: order, len and capacity stay right", async () => {
    const [tx, rx] = channel<number>(1);
    await tx.send(-1);
    const controller = new AbortController();
    const parked: Promise<void>[] = [];
    for (let i = 0; i < 100_000; i++) parked.push(tx.send(i, { signal: controller.signal }).catch(() => {}));
    const survivor = tx.send(42);
    controller.abort();
    await Promise.all(parked);
    expect(await isPending(survivor)).toBe(true);
    expect(await rx.recv()).toBe(-1);
    await within(survivor);
    expect(await rx.recv()).toBe(42);
    expect(rx.len).toBe(0);
    expect(tx.capacity).toBe(1);
  });
});

describe("JS hygiene", () => {
  it("a producer and consumer that never wait still let timers run (the loop yields to macrotasks)", async () => {
    const [tx, rx] = channel<number>(1024);
    let timerFired = false;
    let firedAt = -1;
    setTimeout(() => {
      timerFired = true;
    }, 0);
    let received = 0;
    const producer = (async () => {
      for (let i = 0; i < 200_000; i++) await tx.send(i);
      tx.close();
    })();
    for await (const _ of rx) {
      received++;
      if (timerFired && firedAt < 0) firedAt = received;
    }
    await producer;
    expect(received).toBe(200_000);
    expect(firedAt).toBeGreaterThan(0);
    expect(firedAt).toBeLessThan(200_000);
  });

  it("reserve, permit.send and tryRecv in a loop that never waits also let timers run", async () => {
    const [tx, rx] = channel<number>(4);
    let timerFiredAt = -1;
    let rounds = 0;
    setTimeout(() => {
      timerFiredAt = rounds;
    }, 0);
    for (; rounds < 200_000; rounds++) {
      const permit = await tx.reserve();
      permit.send(rounds);
      expect(rx.tryRecv()).toEqual({ ok: true, value: rounds });
    }
    expect(timerFiredAt).toBeGreaterThan(0);
    expect(timerFiredAt).toBeLessThan(200_000);
  });

  it("abort() without a reason fails the channel with a defined Error, never with undefined", async () => {
    const [tx, rx] = channel<number>(2);
    await tx.send(1);
    tx.abort(undefined);
    expect(await rx.recv()).toBe(1);
    const err = await rejection(rx.recv());
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/without a reason/);
  });

  it("closing, aborting and rejecting paths create no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    try {
      const [tx, rx] = channel<number>(1);
      await tx.send(1);
      const w = tx.send(2);
      void tx.closed();
      rx.close();
      await w.catch(() => {});
      const [tx2, rx2] = channel<number>(1);
      tx2.abort(new Error("nobody asked"));
      rx2.close();
      const [tx3] = channel<number>(1);
      tx3.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});
