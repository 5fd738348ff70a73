/**
 * The fan-out benchmark cases are only worth their figures if they deliver what they claim: every
 * case runs to the end with small counts, each receiver checking order and count (a loss or a lag
 * throws). Speed itself is never asserted here.
 */
import { describe, expect, it } from "vitest";
import { fanoutCases } from "../../bench/cases/fanout.js";

describe("fan-out cases", () => {
  for (const [impl, run] of Object.entries(fanoutCases)) {
    for (const receivers of [1, 7, 120]) {
      it(`${impl}, ${receivers} receivers: every message to every receiver, once, in order`, async () => {
        await expect(run({ n: 3001, receivers, capacity: 16 })).resolves.toBeUndefined();
      });
    }
  }
});
