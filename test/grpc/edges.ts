/** Helpers for the call-edge tests: watching how promises settle, and collecting garbage. */
import { setImmediate as nextTurn } from "node:timers/promises";

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
