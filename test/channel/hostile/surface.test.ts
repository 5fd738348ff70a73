import { channel, TrySendError } from "grpc-mpsc";
import { expect, it } from "vitest";
import { settledWithin } from "../../support/async.js";

it("no barging past a parked reserveMany holding part of its slots", async () => {
  const [tx, rx] = channel<number>(3);
  tx.trySend(1);
  tx.trySend(2);
  tx.trySend(3);
  const many = tx.reserveMany(2);
  await rx.recv(); // many holds 1
  expect(tx.capacity).toBe(0);
  expect(() => tx.trySend(9)).toThrow(TrySendError);
  expect(() => tx.tryReserve()).toThrow(TrySendError);
  expect(() => tx.tryReserveMany(1)).toThrow(TrySendError);
  expect(tx.tryReserveMany(0)).toEqual([]);
  const s = tx.send(4);
  await rx.recv(); // many complete
  expect((await many).length).toBe(2);
  expect(await settledWithin(s)).toBe("PENDING");
});

it("rx.isClosed with a permit out after every sender closed, and with a parked reserveMany holding slots", async () => {
  const [tx, rx] = channel<number>(2);
  const p = tx.tryReserve();
  const tx2 = tx.clone();
  tx.close();
  tx2.close();
  expect(rx.isClosed).toBe(false);
  expect(rx.tryRecv()).toMatchObject({ ok: false, reason: "empty" });
  p.send(5);
  expect(rx.isClosed).toBe(true); // Tokio: buffered values do not matter
  expect(await rx.recv()).toBe(5);
  expect(rx.isClosed).toBe(true);
  expect(await rx.recv()).toBeUndefined();
});

it("strongCount / weakCount / upgrade after close", async () => {
  const [tx, rx] = channel<number>(1);
  const w = tx.downgrade();
  const w2 = w.clone();
  expect([tx.strongCount, tx.weakCount, rx.senderStrongCount, rx.senderWeakCount]).toEqual([1, 2, 1, 2]);
  const up = w.upgrade();
  expect(up?.strongCount).toBe(2);
  rx.close();
  const up2 = w.upgrade(); // Tokio: Some, with closed receiver
  expect(up2?.isClosed).toBe(true);
  up?.close();
  up2?.close();
  tx.close();
  expect(w.upgrade()).toBeUndefined();
  expect(w2.strongCount).toBe(0);
  w.close();
  w.close();
  expect(w2.weakCount).toBe(1);
  expect(() => w.clone()).toThrow();
  tx.close();
  expect(tx.strongCount).toBe(0);
  // abort from an upgraded handle
  const [t3, r3] = channel<number>(1);
  const w3 = t3.downgrade();
  w3.upgrade()?.abort(new Error("x"));
  expect(t3.strongCount).toBe(1);
  expect(w3.upgrade()).toBeDefined();
  t3.close();
  await expect(r3.recv()).rejects.toThrow("x");
});

it("abort a reserveMany holding slots: slots go to the next, nothing barges", async () => {
  const [tx, rx] = channel<number>(2);
  tx.trySend(1);
  tx.trySend(2);
  const ac = new AbortController();
  const many = tx.reserveMany(2, { signal: ac.signal });
  many.catch(() => {});
  const after = tx.reserve();
  await rx.recv(); // many holds 1
  ac.abort();
  const p = await after;
  expect(tx.capacity).toBe(0);
  p.release();
  expect(tx.capacity).toBe(1);
  await rx.recv();
  expect(tx.capacity).toBe(2);
});

it("sender close then rx.close with a parked reserveMany holding slots", async () => {
  const [tx, rx] = channel<number>(2);
  tx.trySend(1);
  tx.trySend(2);
  const many = tx.reserveMany(2);
  await rx.recv();
  tx.close();
  expect(rx.isClosed).toBe(false);
  rx.close();
  await expect(many).rejects.toThrow();
  expect(await rx.recv()).toBe(2);
  expect(await rx.recv()).toBeUndefined();
  expect(tx.capacity).toBe(2);
});

it("rx.isClosed while a parked send / reserve of a closed handle can still deliver", async () => {
  const [tx, rx] = channel<number>(1);
  tx.trySend(1);
  const s = tx.send(2); // parked
  const r = tx.reserve(); // parked
  tx.close();
  const closedNow = rx.isClosed;
  expect(await rx.recv()).toBe(1);
  await s;
  expect(await rx.recv()).toBe(2); // a new value arrived after isClosed said true
  const p = await r;
  p.send(3);
  expect(await rx.recv()).toBe(3);
  expect(closedNow).toBe(false);
});
