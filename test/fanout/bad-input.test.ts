import { broadcast, channel, type Overflow, watch } from "grpc-mpsc";
import { describe, expect, it } from "vitest";

describe("fan-out bad input gets a clear error, as channel's does", () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "4" as unknown as number, 2 ** 30 + 1])(
    "broadcast(%s) throws a RangeError naming capacity",
    (capacity) => {
      expect(() => broadcast(capacity)).toThrow(RangeError);
      expect(() => broadcast(capacity)).toThrow(
        /^Expected `capacity` to be an integer from 1 to 1073741824, got /,
      );
    },
  );

  it("undefined is refused wherever a value goes in, with the channel's TypeError", () => {
    const message = "cannot send undefined: it marks the end of a channel";
    const [btx] = broadcast<number | undefined>(1);
    expect(() => btx.send(undefined)).toThrow(message);
    expect(() => watch(undefined)).toThrow(message);
    const [wtx] = watch<number | undefined>(1);
    expect(() => wtx.send(undefined)).toThrow(message);
    expect(() => wtx.sendReplace(undefined)).toThrow(message);
    const [tx] = channel<number | undefined>(1);
    expect(() => tx.sendOp(undefined)).toThrow(message);
  });

  it.each([
    [
      { overflow: "drop" as Overflow },
      RangeError,
      'Expected `overflow` to be "wait", "drop-oldest" or "drop-newest", got "drop"',
    ],
    [{ overflow: 1 as unknown as Overflow }, RangeError, "Expected `overflow` to be"],
    [
      { overflow: "drop-oldest" as const, onDrop: "log" as unknown as () => void },
      TypeError,
      'Expected `onDrop` to be a function, got "log"',
    ],
    [
      { onDrop: () => {} },
      RangeError,
      'Expected `overflow` to be "drop-oldest" or "drop-newest" with `onDrop`, got "wait"',
    ],
    [null as unknown as object, TypeError, "Expected `options` to be an object, got null"],
    ["drop-oldest" as unknown as object, TypeError, "Expected `options` to be an object"],
  ])("channel(1, %o) throws %s", (options, type, message) => {
    expect(() => channel(1, options)).toThrow(type);
    expect(() => channel(1, options)).toThrow(message);
  });

  it("channel's capacity is still checked first", () => {
    expect(() => channel(0, { overflow: "drop-oldest" })).toThrow(/`capacity`/);
  });
});
