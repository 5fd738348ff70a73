import { execFile } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  broadcast,
  channel,
  channelEvents,
  type DropEvent,
  type LagEvent,
  Lagged,
  type SendWaitEvent,
  unboundedChannel,
} from "grpc-mpsc";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sleep } from "../support/async.js";

/** Subscribes to `name` for one test; the events it hears. */
function listen<T>(name: string): T[] {
  const seen: T[] = [];
  const onMessage = (message: unknown): void => {
    seen.push(message as T);
  };
  subscribe(name, onMessage);
  stops.push(() => unsubscribe(name, onMessage));
  return seen;
}
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe("channel events (node:diagnostics_channel)", () => {
  it("a send that parked publishes its wait once it goes in: op, outcome, time waited, capacity", async () => {
    const waits = listen<SendWaitEvent>(channelEvents.sendWait);
    const [tx, rx] = channel<number>(1);
    await tx.send(1); // never parks: no event
    const parked = tx.send(2);
    await sleep(30);
    expect(waits).toEqual([]);
    await rx.recv();
    await parked;
    await Promise.resolve();
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatchObject({ op: "send", outcome: "sent", maxCapacity: 1 });
    expect(waits[0]?.waitedMs).toBeGreaterThanOrEqual(25);
    expect(waits[0]?.waitedMs).toBeLessThan(2000);
  });

  it("a parked send that the receiver refuses reads 'refused', an aborted one 'aborted', a parked reserve 'reserve'", async () => {
    const waits = listen<SendWaitEvent>(channelEvents.sendWait);
    const [tx, rx] = channel<number>(1);
    tx.trySend(0);
    const stop = new AbortController();
    const aborted = tx.send(1, { signal: stop.signal }).catch((e: unknown) => e);
    const reserving = tx.reserve().catch((e: unknown) => e);
    stop.abort(new Error("gave up"));
    await aborted;
    rx.close();
    await reserving;
    await Promise.resolve();
    expect(waits.map((w) => [w.op, w.outcome])).toEqual([
      ["send", "aborted"],
      ["reserve", "refused"],
    ]);
  });

  // Node only: it starts a Node child with tsx (the Deno run of this file has no tsx to give it).
  const onNode = process.versions.bun === undefined && process.versions.deno === undefined;
  it.runIf(onNode)(
    "a subscriber does not hide a refused send that nobody awaits: its rejection stays unhandled",
    async () => {
      // A child process, so the unhandled rejection is its own: with and without a subscriber, the
      // value given back by a parked send that nobody awaits must surface, not vanish because a
      // subscriber timed the wait.
      const core = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
      const script = (subscribed: boolean): string => `
      import { subscribe } from "node:diagnostics_channel";
      const { channel, channelEvents } = await import(${JSON.stringify(core)});
      if (${subscribed}) subscribe(channelEvents.sendWait, () => {});
      const unhandled = [];
      process.on("unhandledRejection", (reason) => unhandled.push(reason.name));
      const [tx, rx] = channel(1);
      tx.trySend(1);
      void tx.send(2);
      void tx.reserve();
      rx.close();
      setTimeout(() => console.log(JSON.stringify(unhandled)), 50);
    `;
      const run = async (subscribed: boolean): Promise<unknown> => {
        const { stdout } = await promisify(execFile)(
          process.execPath,
          ["--import", "tsx", "--input-type=module", "-e", script(subscribed)],
          { timeout: 15_000 },
        );
        return JSON.parse(stdout);
      };
      expect(await run(false)).toEqual(["SendError", "SendError"]);
      expect(await run(true)).toEqual(["SendError", "SendError"]);
    },
  );

  it("an overflow drop publishes the policy, the value dropped and the running count", async () => {
    const drops = listen<DropEvent>(channelEvents.drop);
    const [oldest] = channel<string>(2, { overflow: "drop-oldest" });
    for (const v of ["a", "b", "c", "d"]) await oldest.send(v);
    const [newest] = channel<string>(1, { overflow: "drop-newest" });
    for (const v of ["x", "y"]) newest.trySend(v);
    expect(drops).toEqual([
      { policy: "drop-oldest", value: "a", dropped: 1, maxCapacity: 2 },
      { policy: "drop-oldest", value: "b", dropped: 2, maxCapacity: 2 },
      { policy: "drop-newest", value: "y", dropped: 1, maxCapacity: 1 },
    ]);
  });

  it("a broadcast receiver that lags publishes how many it missed, this time and in all", async () => {
    const lags = listen<LagEvent>(channelEvents.lag);
    const [tx, rx] = broadcast<number>(2);
    for (let i = 0; i < 5; i++) tx.send(i);
    expect(await rx.recv()).toEqual(new Lagged(3));
    for (let i = 5; i < 9; i++) tx.send(i);
    expect(rx.tryRecv()).toEqual(new Lagged(4)); // at 3 with the window now [7, 9)
    expect(lags).toEqual([
      { missed: 3, totalMissed: 3, capacity: 2 },
      { missed: 4, totalMissed: 7, capacity: 2 },
    ]);
  });

  it("publishes nothing, and waits as before, once the subscriber is gone", async () => {
    const waits = listen<SendWaitEvent>(channelEvents.sendWait);
    for (const stop of stops.splice(0)) stop();
    const [tx, rx] = channel<number>(1);
    tx.trySend(0);
    const parked = tx.send(1);
    expect(await rx.recv()).toBe(0);
    await parked;
    expect(await rx.recv()).toBe(1);
    expect(waits).toEqual([]);
  });
});

describe("metrics snapshots", () => {
  it("a channel's: length, parked senders and receivers, totals sent, received and dropped", async () => {
    const [tx, rx] = channel<number>(2);
    expect(rx.metrics()).toEqual({
      len: 0,
      maxCapacity: 2,
      waitingSenders: 0,
      waitingReceivers: 0,
      sent: 0,
      received: 0,
      dropped: 0,
    });
    const waiting = rx.recv();
    expect(tx.metrics().waitingReceivers).toBe(1);
    await tx.send(1); // straight to the parked receiver
    expect(await waiting).toBe(1);
    await tx.send(2);
    await tx.send(3);
    const parked = [tx.send(4), tx.send(5)];
    expect(tx.metrics()).toEqual({
      len: 2,
      maxCapacity: 2,
      waitingSenders: 2,
      waitingReceivers: 0,
      sent: 3,
      received: 1,
      dropped: 0,
    });
    expect(await rx.recvMany(10)).toEqual([2, 3]);
    await Promise.all(parked);
    expect(rx.metrics()).toMatchObject({ len: 2, waitingSenders: 0, sent: 5, received: 3 });
    expect(rx.metrics()).not.toBe(rx.metrics()); // a fresh object each time
  });

  it("an overflow channel counts what it dropped; an unbounded one reports Infinity", async () => {
    const [tx, rx] = channel<number>(1, { overflow: "drop-oldest" });
    for (let i = 0; i < 4; i++) await tx.send(i);
    expect(rx.metrics()).toMatchObject({ len: 1, sent: 4, dropped: 3, received: 0 });
    const [utx] = unboundedChannel<number>();
    utx.trySend(1);
    expect(utx.metrics()).toMatchObject({ len: 1, maxCapacity: Number.POSITIVE_INFINITY, sent: 1 });
  });

  it("a broadcast's and a broadcast receiver's: held, receivers, waiting, sent, lagged", async () => {
    const [tx, fast] = broadcast<number>(2);
    const slow = tx.subscribe();
    const waiting = fast.recv();
    expect(tx.metrics()).toEqual({
      len: 0,
      capacity: 2,
      receivers: 2,
      waitingReceivers: 1,
      sent: 0,
      lagged: 0,
    });
    for (let i = 0; i < 5; i++) tx.send(i);
    expect(await waiting).toBe(0);
    expect(slow.tryRecv()).toEqual(new Lagged(3));
    expect(slow.metrics()).toEqual({ len: 2, received: 0, lagged: 3 });
    expect(fast.metrics()).toEqual({ len: 4, received: 1, lagged: 0 });
    expect(tx.metrics()).toMatchObject({ sent: 5, lagged: 3, waitingReceivers: 0 });
  });
});

describe("a runtime without diagnostics_channel", () => {
  it("loads nothing and publishes nothing: every channel is silent", async () => {
    const proc = process as { getBuiltinModule?: unknown };
    const original = proc.getBuiltinModule;
    const lookups: string[] = [];
    vi.resetModules();
    proc.getBuiltinModule = undefined;
    try {
      const absent = await import("../../src/channel/diagnostics.js");
      expect(absent.hasDiagnostics).toBe(false);
      const silent = absent.diagnosticsChannel(channelEvents.sendWait);
      listen(channelEvents.sendWait); // a subscriber in Node's registry does not reach a silent channel
      expect(silent.hasSubscribers).toBe(false);
      expect(() => silent.publish({})).not.toThrow();
      proc.getBuiltinModule = (id: string) => {
        lookups.push(id);
        throw new Error("refused");
      };
      vi.resetModules();
      const throwing = await import("../../src/channel/diagnostics.js");
      expect(throwing.hasDiagnostics).toBe(false);
      expect(lookups).toEqual(["node:diagnostics_channel"]);
    } finally {
      proc.getBuiltinModule = original;
      vi.resetModules();
    }
  });
});
