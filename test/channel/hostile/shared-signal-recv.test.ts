import { channel } from "grpc-mpsc";
import { expect, it } from "vitest";
import { settledWithin } from "../../support/async.js";

it("one signal for a reserveMany and a recv: a second parked recv must still get the end", async () => {
  const [tx, rx] = channel<string>(2);
  const p1 = tx.tryReserve();
  const p2 = tx.tryReserve();
  const ac = new AbortController();
  tx.reserveMany(2, { signal: ac.signal }).catch(() => {}); // M
  p1.release(); // M holds 1
  const r1 = rx.recv({ signal: ac.signal }); // after M in the signal's group
  const r2 = rx.recv();
  const s = tx.send("s");
  ac.abort(); // M gives back -> s delivered to r1 -> r1 "aborted" again -> r2 unlinked
  expect(await settledWithin(r1)).toEqual({ v: "s" });
  await s;
  p2.send("t");
  expect(await settledWithin(r2)).toEqual({ v: "t" });
});
