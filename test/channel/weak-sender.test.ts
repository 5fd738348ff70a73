// Tokio's tests/sync_mpsc_weak.rs, ported: weak handles, upgrade, and the strong and weak counts.
import { channel, type Receiver, type Sender, unboundedChannel, type WeakSender } from "grpc-mpsc";
import { describe, expect, it } from "vitest";
import { collectGarbage, within } from "../support/async.js";

const kinds = [
  ["bounded", () => channel<number>(11)],
  ["unbounded", () => unboundedChannel<number>()],
] as const satisfies readonly (readonly [string, () => [Sender<number>, Receiver<number>]])[];

/** Tokio's `tx.clone().downgrade()`: the clone is dropped at once, here closed at once. */
function weakOfClone<T>(tx: Sender<T>): WeakSender<T> {
  const clone = tx.clone();
  const weak = clone.downgrade();
  clone.close();
  return weak;
}

describe.each(kinds)("WeakSender (%s)", (_kind, make) => {
  it("an upgraded weak handle sends, and once every strong handle closed it no longer upgrades", async () => {
    const [tx, rx] = make();
    let weak = weakOfClone(tx);
    for (let i = 0; i < 10; i++) await tx.send(i);
    const tx2 = weak.upgrade();
    expect(tx2).toBeDefined();
    await tx2?.send(20);
    weak = (tx2 as Sender<number>).downgrade();
    tx2?.close();
    tx.close();
    const received: number[] = [];
    for (let i = 0; i < 11; i++) received.push((await within(rx.recv())) as number);
    expect(received.at(-1)).toBe(20);
    expect(await within(rx.recv())).toBeUndefined();
    expect(weak.upgrade()).toBeUndefined();
  });

  it("an actor keeps a weak handle to its own mailbox: the channel ends when its clients leave", async () => {
    type Msg = { kind: "getId"; reply: (id: number) => void } | { kind: "self" };
    const [handle, mailbox] = channel<Msg>(8);
    let self = weakOfClone(handle);
    let nextId = 0;
    let receivedSelf = false;
    const actor = (async () => {
      let i = 0;
      for await (const msg of mailbox) {
        if (msg.kind === "getId") msg.reply(++nextId);
        else receivedSelf = true;
        if (i++ === 0) {
          const tx = self.upgrade();
          if (tx !== undefined) {
            await tx.send({ kind: "self" });
            self = tx.downgrade();
            tx.close();
          }
        }
      }
    })();
    const id = await within(new Promise<number>((reply) => void handle.send({ kind: "getId", reply })));
    expect(id).toBe(1);
    handle.close();
    await within(actor, 5000, "the actor's loop to end");
    expect(receivedSelf).toBe(true);
  });

  it("a weak handle upgrades while another strong handle is open", () => {
    const [tx] = make();
    expect(tx.downgrade().upgrade()).toBeDefined();
  });

  it("a weak handle does not upgrade once the only strong handle closed", () => {
    const [tx] = make();
    const weak = tx.downgrade();
    tx.close();
    expect(weak.upgrade()).toBeUndefined();
  });

  it("a weak handle of a clone does not upgrade once the clone and the original closed", () => {
    const [tx] = make();
    const weak = weakOfClone(tx);
    const whileOpen = weak.upgrade();
    expect(whileOpen?.strongCount).toBe(2);
    whileOpen?.close();
    tx.close();
    expect(weak.upgrade()).toBeUndefined();
  });

  it("downgrading does not count as a sender: two weak handles of one closed sender do not upgrade", () => {
    const [tx] = make();
    const weaks = [tx.downgrade(), tx.downgrade()];
    tx.close();
    expect(weaks.map((w) => w.upgrade())).toEqual([undefined, undefined]);
  });

  it("the receiver sees the end when every strong handle closed though weak handles remain", async () => {
    const [tx, rx] = make();
    const _weak = weakOfClone(tx);
    tx.close();
    expect(rx.isClosed).toBe(true);
    expect(await within(rx.recv())).toBeUndefined();
  });

  it("after the receiver closed, a send through any handle is refused and nothing is kept", async () => {
    const [tx, rx] = make();
    const weak = tx.downgrade();
    await tx.send(1);
    await tx.send(2);
    expect(await rx.recv()).toBe(1);
    rx.close();
    const upgraded = weak.upgrade(); // as in Tokio: a closed receiver does not stop an upgrade
    expect(upgraded?.isClosed).toBe(true);
    await expect(tx.send(3)).rejects.toMatchObject({ name: "SendError", value: 3 });
    await expect(upgraded?.send(4)).rejects.toMatchObject({ name: "SendError", value: 4 });
    expect(await rx.recv()).toBe(2);
    expect(await rx.recv()).toBeUndefined();
  });

  it("strongCount counts clones, on every handle and on the receiver", () => {
    const [tx, rx] = make();
    const tx2 = tx.clone();
    expect([tx.strongCount, tx2.strongCount, rx.senderStrongCount]).toEqual([2, 2, 2]);
    tx2.close();
    expect([tx.strongCount, rx.senderStrongCount]).toEqual([1, 1]);
  });

  it("weakCount counts weak handles until they are closed", () => {
    const [tx, rx] = make();
    const weak = tx.downgrade();
    expect([tx.weakCount, weak.weakCount, rx.senderWeakCount]).toEqual([1, 1, 1]);
    weak.close();
    weak.close(); // idempotent
    expect([tx.weakCount, rx.senderWeakCount]).toEqual([0, 0]);
    expect(weak.upgrade()).toBeUndefined();
  });

  it("strong and weak counts move together across handles", () => {
    const [tx, rx] = make();
    const tx2 = tx.clone();
    const weak = tx.downgrade();
    const weak2 = tx2.downgrade();
    for (const h of [tx, tx2, weak, weak2]) expect([h.strongCount, h.weakCount]).toEqual([2, 2]);
    expect([rx.senderStrongCount, rx.senderWeakCount]).toEqual([2, 2]);
    tx2.close();
    {
      using _w = weak2;
    }
    for (const h of [tx, weak]) expect([h.strongCount, h.weakCount]).toEqual([1, 1]);
    expect([rx.senderStrongCount, rx.senderWeakCount]).toEqual([1, 1]);
  });

  it("a weak clone counts, and a closed weak handle cannot be cloned; a closed sender cannot be downgraded", () => {
    const [tx] = make();
    const weak = tx.downgrade();
    const copy = weak.clone();
    expect(tx.weakCount).toBe(2);
    expect(copy.upgrade()?.sameChannel(tx)).toBe(true);
    weak.close();
    expect(() => weak.clone()).toThrow(/closed WeakSender/);
    tx.close();
    expect(() => tx.downgrade()).toThrow(/closed Sender/);
  });

  it("a weak handle that is garbage-collected changes nothing", async () => {
    const [tx, rx] = make();
    (() => {
      tx.downgrade();
    })();
    await collectGarbage();
    expect(rx.isClosed).toBe(false);
    await tx.send(1);
    expect(await rx.recv()).toBe(1);
  });
});

describe("WeakSender and permits", () => {
  it("a weak handle upgrades while a permit is outstanding and its sender is open", async () => {
    const [tx] = channel<number>(1);
    const weak = tx.downgrade();
    const _permit = await tx.reserve();
    expect(weak.upgrade()).toBeDefined();
  });

  it("a handle downgraded after another reserved still upgrades while that one is open", async () => {
    const [tx] = channel<number>(1);
    const tx2 = tx.clone();
    const _permit = await tx.reserve();
    const weak = tx2.downgrade();
    tx2.close();
    expect(weak.upgrade()).toBeDefined();
  });
});
