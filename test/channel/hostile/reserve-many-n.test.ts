import { channel, unboundedChannel } from "grpc-mpsc";
import { expect, it } from "vitest";
import { settledWithin } from "../../support/async.js";

it("unbounded reserveMany(2**32): must reject (not throw), and must not leak the slots", async () => {
  const [tx, rx] = unboundedChannel<number>();
  let sync: unknown;
  try {
    tx.reserveMany(2 ** 32).catch(() => {});
  } catch (e) {
    sync = e;
  }
  expect(sync).toBeUndefined();
  tx.close();
  expect(await settledWithin(rx.recv())).toEqual({ v: undefined });
});
it("unbounded tryReserveMany(2**32) throws, and the channel still ends after close", async () => {
  const [tx, rx] = unboundedChannel<number>();
  expect(() => tx.tryReserveMany(2 ** 32)).toThrow();
  expect(rx.isClosed).toBe(false);
  tx.close();
  expect(rx.isClosed).toBe(true);
  expect(await settledWithin(rx.recv())).toEqual({ v: undefined });
});
it("channel(2**40).reserveMany(2**33): same", async () => {
  const [tx, rx] = channel<number>(2 ** 40);
  try {
    tx.reserveMany(2 ** 33).catch(() => {});
  } catch {}
  expect(tx.capacity).toBe(2 ** 40);
  tx.close();
  expect(await settledWithin(rx.recv())).toEqual({ v: undefined });
});
it("n = 0 / -1 / NaN / 1.5 / cap+1 / '2'", async () => {
  const [tx] = channel<number>(2);
  expect(await tx.reserveMany(0)).toEqual([]);
  for (const n of [-1, NaN, 1.5, 3, "2" as never, Infinity]) {
    await expect(tx.reserveMany(n)).rejects.toBeInstanceOf(RangeError);
    expect(() => tx.tryReserveMany(n)).toThrow(RangeError);
  }
  expect(tx.capacity).toBe(2);
});
