import { describe, expect, it } from "vitest";
import { pairedRatio, stat } from "../../bench/stats.js";

describe("bench statistics", () => {
  it("median, min and max of odd and even samples, in any order", () => {
    expect(stat([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(stat([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(stat([]).median).toBeNaN();
  });

  it("a paired ratio divides out a slowdown of the machine that a ratio of medians charges to one side", () => {
    // Ours is 1.25x the peer in every round. The machine halved its speed in the middle of round 3,
    // after ours ran and before the peer did, and stayed slow.
    const ours = [10, 10, 10, 5, 5];
    const peer = [8, 8, 4, 4, 4];
    expect(stat(ours).median / stat(peer).median).toBeCloseTo(2.5);
    expect(pairedRatio(ours, peer)).toBeCloseTo(1.25);
  });

  it("refuses samples that are not of the same rounds", () => {
    expect(() => pairedRatio([1, 2], [1])).toThrow(RangeError);
    expect(() => pairedRatio([], [])).toThrow(RangeError);
  });
});
