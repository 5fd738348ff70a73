import { channel, SendError } from "grpc-mpsc";
import { expect, it } from "vitest";
import { settledWithin } from "../../support/async.js";

it("one signal shared by a parked reserveMany (holding slots) and a send behind it: a third waiter must not be lost", async () => {
  const [tx, rx] = channel<string>(2);
  const p1 = tx.tryReserve();
  const p2 = tx.tryReserve(); // channel full
  const ac = new AbortController();
  const many = tx.reserveMany(2, { signal: ac.signal }); // head of line, holds 0
  many.catch(() => {});
  p1.release(); // many now holds 1 slot
  const b = tx.send("b", { signal: ac.signal }); // same signal, behind many
  const c = tx.send("c"); // no signal, behind b
  ac.abort(); // many gives back its slot -> grant() hands it to b while the group is being iterated
  expect(await settledWithin(b)).toEqual({ v: undefined }); // b delivered
  expect(await rx.recv()).toBe("b");
  p2.release(); // frees a slot: c must get it
  expect(await settledWithin(c)).toEqual({ v: undefined });
  expect(await rx.recv()).toBe("c");
});

it("same setup, then rx.close(): c must be given back with a SendError", async () => {
  const [tx, rx] = channel<string>(2);
  const p1 = tx.tryReserve();
  tx.tryReserve();
  const ac = new AbortController();
  tx.reserveMany(2, { signal: ac.signal }).catch(() => {});
  p1.release();
  const b = tx.send("b", { signal: ac.signal });
  const c = tx.send("c");
  ac.abort();
  await b;
  rx.close();
  const r = await settledWithin(c);
  expect(r).toMatchObject({ e: expect.any(SendError) });
  expect((r as { e: SendError<string> }).e.value).toBe("c");
});
