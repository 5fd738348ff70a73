// Tokio's tests/sync_mpsc.rs `test_rx_is_*closed*` cases: what `rx.isClosed` reports.
import { channel, unboundedChannel } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { within } from "../support/async.js";

describe("rx.isClosed", () => {
  it("is true after rx.close() while a sender is open", () => {
    const [_tx, rx] = channel<number>(10);
    rx.close();
    expect(rx.isClosed).toBe(true);
  });

  it("is true once every sender closed, with values still buffered", async () => {
    const [tx, rx] = channel<number>(10);
    await tx.send(1);
    tx.close();
    expect(rx.isClosed).toBe(true);
    expect(rx.len).toBe(1);
  });

  it("is false while a sender is open, even with the buffer full", async () => {
    const [tx, rx] = channel<number>(2);
    await tx.send(1);
    await tx.send(2);
    expect(rx.isClosed).toBe(false);
  });

  it("is false while a permit is outstanding though every sender closed, until it is used", async () => {
    const [tx, rx] = channel<number>(10);
    const permit = await tx.reserve();
    tx.close();
    expect(rx.isClosed).toBe(false);
    permit.send(1);
    expect(rx.isClosed).toBe(true);
    expect(await within(rx.recv())).toBe(1);
    expect(await within(rx.recv())).toBeUndefined();
  });

  it("is false while a permit is outstanding though every sender closed, until it is released", () => {
    const [tx, rx] = unboundedChannel<number>();
    const permit = tx.tryReserve();
    tx.close();
    expect(rx.isClosed).toBe(false);
    permit.release();
    expect(rx.isClosed).toBe(true);
  });

  it("is true after rx.close() even with a permit outstanding: no new value is accepted", () => {
    const [tx, rx] = channel<number>(10);
    const _permit = tx.tryReserve();
    rx.close();
    expect(rx.isClosed).toBe(true);
  });
});
