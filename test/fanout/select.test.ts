import { channel, type Receiver, type SelectOp, SendError, select } from "grpc-mpsc";
import { describe, expect, expectTypeOf, it } from "vitest";
import { isPending, rejection } from "../support/async.js";

/** Everything buffered in `rx` now. */
function drain<T>(rx: Receiver<T>): T[] {
  const out: T[] = [];
  for (let r = rx.tryRecv(); r.ok; r = rx.tryRecv()) out.push(r.value);
  return out;
}

describe("select over channel operations", () => {
  it("completes the operation that is ready and leaves the others' channels as they were", async () => {
    const [, rxA] = channel<string>(4);
    const [txB, rxB] = channel<string>(4);
    const [txC, rxC] = channel<string>(1);
    await txB.send("b");
    await txC.send("full");
    const got = await select([rxA.recvOp(), rxB.recvOp(), txC.sendOp("c")]);
    expect(got).toEqual({ index: 1, value: "b" });
    expect(drain(rxC)).toEqual(["full"]);
  });

  it("with several ready, biased takes the first in order; by default each gets its turn", async () => {
    const [txA, rxA] = channel<number>(1024);
    const [txB, rxB] = channel<number>(1024);
    for (let i = 0; i < 200; i++) {
      txA.trySend(i);
      txB.trySend(i);
    }
    expect((await select([rxA.recvOp(), rxB.recvOp()], { biased: true })).index).toBe(0);
    const picked = [0, 0];
    for (let i = 0; i < 100; i++) {
      const { index } = await select([rxA.recvOp(), rxB.recvOp()]);
      picked[index] = (picked[index] ?? 0) + 1;
    }
    expect(picked[0]).toBeGreaterThan(10);
    expect(picked[1]).toBeGreaterThan(10);
    expect(rxA.len + rxB.len).toBe(400 - 101);
  });

  it("waits for the first channel to get a value; the other receive took nothing", async () => {
    const [txA, rxA] = channel<string>(4);
    const [txB, rxB] = channel<string>(4);
    const selecting = select([rxA.recvOp(), rxB.recvOp()]);
    expect(await isPending(selecting)).toBe(true);
    await txB.send("first");
    await txA.send("second");
    expect(await selecting).toEqual({ index: 1, value: "first" });
    expect(drain(rxA)).toEqual(["second"]);
    expect(drain(rxB)).toEqual([]);
  });

  it("unlike Promise.race over recv(), whose loser consumes a value that is then lost", async () => {
    const [txA, rxA] = channel<string>(4);
    const [txB, rxB] = channel<string>(4);
    const raced = Promise.race([rxA.recv(), rxB.recv()]);
    await txB.send("first");
    await txA.send("second");
    expect(await raced).toBe("first");
    expect(drain(rxA)).toEqual([]); // "second" went to the losing recv(): nobody will see it
  });

  it("a waiting send is enqueued only if it wins: the losing send's value never reaches its channel", async () => {
    const [txA, rxA] = channel<string>(1);
    const [txB, rxB] = channel<string>(1);
    await txA.send("a0");
    await txB.send("b0");
    const selecting = select([txA.sendOp("a1"), txB.sendOp("b1")]);
    expect(await isPending(selecting)).toBe(true);
    expect(await rxB.recv()).toBe("b0");
    expect(await selecting).toEqual({ index: 1, value: undefined });
    expect(await rxA.recv()).toBe("a0");
    expect(drain(rxA)).toEqual([]); // the slot "a0" freed was not taken by the losing send
    expect(drain(rxB)).toEqual(["b1"]);
  });

  it("a select that sends into and receives from the same channel completes one of the two, never both", async () => {
    const [tx, rx] = channel<string>(1);
    const permit = tx.tryReserve(); // the one slot is held: the send waits, and nothing is there to receive
    const selecting = select([rx.recvOp(), tx.sendOp("mine")]);
    expect(await isPending(selecting)).toBe(true);
    permit.release(); // the slot goes to the waiting send, which must not feed its own select's receive
    expect(await selecting).toEqual({ index: 1, value: undefined });
    expect(drain(rx)).toEqual(["mine"]);
  });

  it("a waiting send keeps its place in the FIFO line behind plain sends", async () => {
    const [tx, rx] = channel<string>(1);
    await tx.send("0");
    const plain = tx.send("plain");
    const selecting = select([tx.sendOp("selected")]);
    expect(await rx.recv()).toBe("0");
    await plain;
    expect(await isPending(selecting)).toBe(true);
    expect(await rx.recv()).toBe("plain");
    await selecting;
    expect(await rx.recv()).toBe("selected");
  });

  it("an aborted select rejects with the reason and takes nothing", async () => {
    const [txA, rxA] = channel<string>(1);
    const [txB, rxB] = channel<string>(1);
    await txB.send("b0");
    const giveUp = new AbortController();
    const selecting = select([rxA.recvOp(), txB.sendOp("b1")], { signal: giveUp.signal });
    giveUp.abort(new Error("gave up"));
    expect(await rejection(selecting)).toMatchObject({ message: "gave up" });
    await txA.send("a");
    expect(drain(rxA)).toEqual(["a"]);
    expect(drain(rxB)).toEqual(["b0"]);
  });

  it("a signal aborted before the call rejects at once, even with an operation ready", async () => {
    const [tx, rx] = channel<string>(1);
    await tx.send("ready");
    const err = await rejection(select([rx.recvOp()], { signal: AbortSignal.abort("no") }));
    expect(err).toBe("no");
    expect(rx.len).toBe(1);
  });

  it("an operation that completes with an error makes select reject with it, and the others take nothing", async () => {
    const [txA, rxA] = channel<string>(1);
    rxA.close();
    const [txB, rxB] = channel<string>(1);
    await txB.send("b");
    const err = await rejection(select([txA.sendOp("refused"), rxB.recvOp()], { biased: true }));
    expect(err).toBeInstanceOf(SendError);
    expect((err as SendError<string>).value).toBe("refused");
    expect(drain(rxB)).toEqual(["b"]);
  });

  it("a waiting send whose channel closes rejects with SendError carrying its value", async () => {
    const [tx, rx] = channel<string>(1);
    await tx.send("0");
    const selecting = select([tx.sendOp("late")]);
    rx.close();
    const err = await rejection(selecting);
    expect(err).toBeInstanceOf(SendError);
    expect((err as SendError<string>).value).toBe("late");
  });

  it("a send operation from a closed handle is refused with SendError", async () => {
    const [tx] = channel<string>(1);
    const op = tx.sendOp("v");
    tx.close();
    expect(await rejection(select([op]))).toBeInstanceOf(SendError);
  });

  it("a receive completes with undefined at the end of its channel, and with the failure of an aborted one", async () => {
    const [txA, rxA] = channel<string>(1);
    const selecting = select([rxA.recvOp()]);
    txA.close();
    expect(await selecting).toEqual({ index: 0, value: undefined });
    const [txB, rxB] = channel<string>(1);
    txB.abort(new Error("broken"));
    expect(await rejection(select([rxB.recvOp()]))).toMatchObject({ message: "broken" });
  });

  it("an operation can be used by one select after another", async () => {
    const [tx, rx] = channel<number>(4);
    const op = rx.recvOp();
    await tx.send(1);
    await tx.send(2);
    expect((await select([op])).value).toBe(1);
    expect((await select([op])).value).toBe(2);
  });

  it("bad input is refused: no operations, a non-operation, an undefined value", async () => {
    const [tx] = channel<string | undefined>(1);
    expect(await rejection(select([]))).toBeInstanceOf(RangeError);
    expect(await rejection(select([]))).toMatchObject({
      message: "Expected `ops.length` to be an integer from 1 up, got 0",
    });
    const notAnOp = { attempt: () => 1 } as unknown as SelectOp<number>;
    expect(await rejection(select([notAnOp]))).toMatchObject({
      message: /^Expected `ops\[0\]` to be an operation/,
    });
    expect(await rejection(select("x" as unknown as SelectOp<unknown>[]))).toBeInstanceOf(TypeError);
    expect(() => tx.sendOp(undefined)).toThrow(TypeError);
  });

  it("the result's index narrows its value's type", async () => {
    const [txN, rxN] = channel<number>(1);
    const [txS] = channel<string>(1);
    await txN.send(1);
    const got = await select([rxN.recvOp(), txS.sendOp("s")], { biased: true });
    if (got.index === 0) expectTypeOf(got.value).toEqualTypeOf<number | undefined>();
    else expectTypeOf(got.value).toEqualTypeOf<void>();
    const ops: SelectOp<number | undefined>[] = [rxN.recvOp()];
    await txN.send(2);
    expectTypeOf((await select(ops)).index).toEqualTypeOf<number>();
    expect(got.index).toBe(0);
  });

  it("a parked select holds no listener on its signal once it completed", async () => {
    const [tx, rx] = channel<number>(1);
    const giveUp = new AbortController();
    const selecting = select([rx.recvOp()], { signal: giveUp.signal });
    await tx.send(7);
    expect(await selecting).toEqual({ index: 0, value: 7 });
    giveUp.abort(); // nothing left to abort: no unhandled rejection, nothing taken
    await tx.send(8);
    expect(drain(rx)).toEqual([8]);
  });
});
