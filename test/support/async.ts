/** Waiting in tests: bounded waits, how promises settle, and garbage collection. */
import { setImmediate as nextTurn } from "node:timers/promises";
import { expect } from "vitest";

/** Rejects if `promise` does not settle within `ms` (so a hang fails instead of timing out silently). */
export function within<T>(promise: Promise<T>, ms = 2000, what = "operation"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` is still pending after the current microtasks and one macrotask turn. */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await nextTurn();
  return !settled;
}

/** The rejection reason of `promise` (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (err: unknown) => err,
  );
}
/** How a promise settled, observed without changing what it reports. */
export interface Watched<T> {
  /** Settled at all. */
  readonly settled: boolean;
  /** The rejection reason, once it rejected. */
  readonly error: unknown;
  /** The value, once it resolved. */
  readonly value: T | undefined;
  /** When it settled (`Date.now()`). */
  readonly at: number;
  /** Resolves once it settled. */
  readonly done: Promise<void>;
}

/** Watches `promise`: its outcome becomes readable synchronously once it settled. */
export function watch<T>(promise: Promise<T>): Watched<T> {
  const w = { settled: false, error: undefined as unknown, value: undefined as T | undefined, at: 0 };
  const done = promise.then(
    (value) => {
      Object.assign(w, { settled: true, value, at: Date.now() });
    },
    (error: unknown) => {
      Object.assign(w, { settled: true, error, at: Date.now() });
    },
  );
  return Object.assign(w, { done });
}

/** The rejection reason of `promise`, or the value it resolved with under `resolved`. */
export function outcome<T>(promise: Promise<T>): Promise<{ error?: unknown; resolved?: T }> {
  return promise.then(
    (resolved) => ({ resolved }),
    (error: unknown) => ({ error }),
  );
}

/**
 * Runs full collections until finalizers had their turn: unreachable handles are collected and
 * their FinalizationRegistry callbacks have run.
 */
export async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    globalThis.gc?.();
    await nextTurn();
  }
}

/** Sends `make(n)` for n = 0, 1, ... until a send rejects; resolves with how many resolved, and the rejection. */
export async function sendUntilRefused<T>(
  tx: { send(value: T): Promise<void> },
  make: (n: number) => T,
  max = 100_000,
): Promise<{ sent: number; error: unknown; lastResolvedAt: number }> {
  let lastResolvedAt = 0;
  for (let n = 0; n < max; n++) {
    try {
      await tx.send(make(n));
      lastResolvedAt = Date.now();
    } catch (error) {
      return { sent: n, error, lastResolvedAt };
    }
  }
  throw new Error(`${max} sends resolved: the call never refused one`);
}

/** One turn of the event loop. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Collects garbage until `done()` holds (finalizers run after a turn of the event loop); fails if it never does. */
export async function collectUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !done(); i++) {
    await tick();
    global.gc?.();
    await tick();
  }
  expect(done()).toBe(true);
}

/** Runs `step` until a setImmediate queued first has run: proves that a loop of it yields to the event loop. */
export async function yieldsToEventLoop(step: () => Promise<unknown>): Promise<void> {
  let ran = false;
  setImmediate(() => {
    ran = true;
  });
  for (let i = 0; !ran; i++) {
    if (i > 100_000) throw new Error("the loop starved setImmediate");
    await step();
  }
}

/** How `promise` stands after `ms`: `{ v }` resolved with v, `{ e }` rejected with e, or `"PENDING"`. */
export function settledWithin<T>(
  promise: Promise<T>,
  ms = 100,
): Promise<{ v: T } | { e: unknown } | "PENDING"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(
      (v) => ({ v }),
      (e: unknown) => ({ e }),
    ),
    new Promise<"PENDING">((resolve) => {
      timer = setTimeout(() => resolve("PENDING"), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Sends `make(i)` on `tx` with `signal`, one after another, until a send stays parked (the channel
 * or the transport under it is full); returns that send (its outcome, still to come, is in a box:
 * awaiting it here would wait for the send), or `undefined` if none parked within `max` sends.
 */
export async function parkASend<T>(
  tx: { send(value: T, options?: { signal?: AbortSignal }): Promise<void> },
  make: (i: number) => T,
  signal: AbortSignal,
  max = 400,
): Promise<{ index: number; outcome: ReturnType<typeof outcome<void>> } | undefined> {
  for (let i = 0; i < max; i++) {
    const p = tx.send(make(i), { signal });
    await tick();
    await tick();
    if (await isPending(p)) return { index: i, outcome: outcome(p) };
  }
  return undefined;
}
