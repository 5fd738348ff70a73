/** Helpers for the fan-out tests (the channel tests' own are in ../channel/helpers.ts). */
import { expect } from "vitest";

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
