import { setTimeout as sleep } from "node:timers/promises";
import { channel, pipe, SendError } from "grpc-mpsc";
import { mapConcurrent } from "grpc-mpsc/concurrent";
import { describe, expect, it } from "vitest";
import { rejection, within } from "../support/async.js";

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A source of `n` values, piped into a fresh channel of `capacity`. */
function source(n: number, capacity = 4) {
  const [tx, rx] = channel<number>(capacity);
  const piping = pipe(
    (async function* () {
      yield* range(n);
    })(),
    tx,
  );
  return { rx, piping };
}

describe("mapConcurrent (p-queue)", () => {
  it("ordered: results come in input order while at most `concurrency` calls run", async () => {
    const { rx } = source(40);
    let running = 0;
    let most = 0;
    const results = mapConcurrent(
      rx,
      async (v) => {
        running++;
        most = Math.max(most, running);
        await sleep((v * 7) % 5); // later values often finish first
        running--;
        return v * 10;
      },
      { concurrency: 3 },
    );
    const got: number[] = [];
    for await (const r of results) got.push(r);
    expect(got).toEqual(range(40).map((v) => v * 10));
    expect(most).toBe(3);
  });

  it("unordered: results come as calls complete", async () => {
    const { rx } = source(3);
    const delays = [30, 1, 10];
    const results = mapConcurrent(
      rx,
      async (v) => {
        await sleep(delays[v] ?? 0);
        return v;
      },
      { concurrency: 3, ordered: false },
    );
    const got: number[] = [];
    for await (const r of results) got.push(r);
    expect(got).toEqual([1, 2, 0]);
  });

  it("backpressure: with nobody reading the results, input stops being taken after a bounded number", async () => {
    const [tx, rx] = channel<number>(2);
    let started = 0;
    const results = mapConcurrent(
      rx,
      async (v) => {
        started++;
        return v;
      },
      { concurrency: 2, capacity: 2 },
    );
    let accepted = 0;
    const producer = (async () => {
      for (let i = 0; i < 1000; i++) {
        await tx.send(i);
        accepted++;
      }
      tx.close();
    })();
    await sleep(50);
    // input channel (2) + running calls (2, their results blocked on the full output) + output (2):
    // a value is taken from the input only when a call can start on it.
    expect(accepted).toBe(6);
    expect(started).toBe(4);
    const got: number[] = [];
    for await (const r of results) got.push(r);
    await producer;
    expect(got).toEqual(range(1000));
  });

  it("a call that rejects fails the results after the earlier ones, closes the input and aborts running calls", async () => {
    const { rx, piping } = source(100);
    let abortedCalls = 0;
    const boom = new Error("call 5 failed");
    const results = mapConcurrent(
      rx,
      async (v, signal) => {
        if (v === 5) {
          await sleep(20); // calls 6 and 7 are running by now
          throw boom;
        }
        if (v > 5) {
          if (!signal.aborted) {
            await new Promise<void>((resolve) =>
              signal.addEventListener("abort", () => resolve(), { once: true }),
            );
          }
          abortedCalls++;
        }
        return v;
      },
      { concurrency: 3 },
    );
    const got: number[] = [];
    const err = await rejection(
      (async () => {
        for await (const r of results) got.push(r);
      })(),
    );
    expect(err).toBe(boom);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(await within(piping)).toBeLessThan(100); // the input was closed: the source stopped early
    expect(abortedCalls).toBeGreaterThan(0);
  });

  it("closing the results closes the input: its producer gets its value back", async () => {
    const [tx, rx] = channel<number>(1);
    const results = mapConcurrent(rx, async (v) => v, { concurrency: 1 });
    await tx.send(1);
    expect(await results.recv()).toBe(1);
    results.close();
    const err = await within(
      (async () => {
        for (let i = 2; ; i++) await tx.send(i);
      })().catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(SendError);
  });

  it("refuses a concurrency that is not an integer >= 1", () => {
    const [, rx] = channel<number>(1);
    expect(() => mapConcurrent(rx, async (v) => v, { concurrency: 0 })).toThrow(/concurrency/);
    expect(() => mapConcurrent(rx, async (v) => v, { concurrency: 1.5 })).toThrow(RangeError);
  });
});
