import { channel } from "grpc-mpsc";
import { expect, it } from "vitest";
import { settledWithin } from "../../support/async.js";

it("two reserveMany on one signal: the second completes during the abort, then is 'given back' too", async () => {
  const [tx, rx] = channel<string>(2);
  const p1 = tx.tryReserve();
  const p2 = tx.tryReserve();
  const ac = new AbortController();
  tx.reserveMany(2, { signal: ac.signal }).catch(() => {}); // A, will hold 1
  p1.release();
  const b = tx.reserveMany(1, { signal: ac.signal }); // B, same signal
  ac.abort(); // A gives back 1 -> B completes -> abortWaiter(B) gives B's slot back a second time
  const r = (await settledWithin(b)) as { v?: unknown[] };
  expect(r.v?.length).toBe(1); // B got a permit
  const [pb] = r.v as { send(v: string): void }[];
  // both slots are held now (p2 and pb): the channel must be full
  expect(tx.capacity).toBe(0);
  expect(() => tx.trySend("x")).toThrow(); // must be "full"
  pb?.send("b");
  p2.send("c");
  const got: string[] = [];
  while (rx.len > 0) got.push((await rx.recv()) as string);
  expect(tx.capacity).toBe(tx.maxCapacity); // capacity recovers to exactly maxCapacity
  tx.close();
  expect(await settledWithin(rx.recv())).toEqual({ v: undefined }); // the end is reported
});
