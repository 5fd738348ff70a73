/**
 * The core's public behaviour as runtime-neutral cases: no test runner, no Node built-in, only the
 * `grpc-mpsc` entry and what every JavaScript runtime has (promises, timers, AbortController,
 * ReadableStream). `main.ts` runs them; `test/runtimes/` bundles that with esbuild into one ES module
 * and runs it on Node, Bun, Deno and headless Chromium. The vitest suites (test/channel, test/fanout,
 * test/interop) pin every behaviour down in depth on Node; these check that each one holds elsewhere.
 */
import {
  broadcast,
  channel,
  Lagged,
  pipe,
  RecvError,
  SendError,
  SendTimeoutError,
  select,
  TrySendError,
  toReadableStream,
  unboundedChannel,
  watch,
} from "grpc-mpsc";

/** One case: a name that says the behaviour, and a body that throws when it does not hold. */
export interface Case {
  readonly name: string;
  readonly run: () => Promise<void> | void;
}

/** Throws unless `ok`. */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`expected ${what}`);
}

/** Throws unless `actual` and `expected` are the same JSON. */
function same(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** The rejection reason of `promise`; throws if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection, got a resolution");
}

/** One turn of the macrotask queue, with the timer every runtime has. */
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Whether `promise` is still pending after a macrotask turn. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await turn();
  return !settled;
}

/** Every case, in the order they run. */
export const cases: readonly Case[] = [
  {
    name: "channel: send and recv carry values in order; recv is undefined once closed and drained",
    async run() {
      const [tx, rx] = channel<number>(2);
      await tx.send(1);
      await tx.send(2);
      tx.close();
      same([await rx.recv(), await rx.recv(), await rx.recv()], [1, 2, null], "received");
    },
  },
  {
    name: "channel: send waits while full and resumes waiting senders FIFO",
    async run() {
      const [tx, rx] = channel<string>(1);
      await tx.send("a");
      const b = tx.send("b");
      const c = tx.send("c");
      check(await pending(b), "the second send to wait");
      same(await rx.recv(), "a", "first");
      await b;
      check(await pending(c), "the third send to wait behind the second");
      same([await rx.recv(), await rx.recv()], ["b", "c"], "then");
      await c;
    },
  },
  {
    name: "channel: trySend throws TrySendError full/closed with the value; tryRecv tells empty from closed",
    run() {
      const [tx, rx] = channel<number>(1);
      same(rx.tryRecv(), { ok: false, reason: "empty" }, "empty");
      tx.trySend(7);
      let err: unknown;
      try {
        tx.trySend(8);
      } catch (e) {
        err = e;
      }
      check(err instanceof TrySendError && err.kind === "full" && err.value === 8, "TrySendError full 8");
      same(rx.tryRecv(), { ok: true, value: 7 }, "value");
      rx.close();
      try {
        tx.trySend(9);
      } catch (e) {
        err = e;
      }
      check(err instanceof TrySendError && err.kind === "closed" && err.value === 9, "TrySendError closed 9");
      same(rx.tryRecv(), { ok: false, reason: "closed" }, "closed");
    },
  },
  {
    name: "channel: capacity outside the integers from 1 is a RangeError; send(undefined) a TypeError",
    async run() {
      for (const bad of [0, -1, 1.5, Number.NaN]) {
        let err: unknown;
        try {
          channel(bad);
        } catch (e) {
          err = e;
        }
        check(err instanceof RangeError, `RangeError for ${bad}`);
      }
      const [tx, rx] = channel<number | undefined>(1);
      const err = await rejection(Promise.resolve().then(() => tx.send(undefined)));
      check(err instanceof TypeError, "TypeError for send(undefined)");
      check(!rx.isClosed && rx.len === 0, "and nothing enqueued"); // also holds rx: a collected one closes
    },
  },
  {
    name: "channel: recvMany waits for one and returns up to the limit; [] at the end",
    async run() {
      const [tx, rx] = channel<number>(8);
      const many = rx.recvMany(3);
      check(await pending(many), "recvMany to wait while empty");
      for (let i = 0; i < 5; i++) tx.trySend(i);
      same(await many, [0], "the first value wakes it");
      same(await rx.recvMany(3), [1, 2, 3], "up to the limit");
      tx.close();
      same(await rx.recvMany(3), [4], "the rest");
      same(await rx.recvMany(3), [], "the end");
    },
  },
  {
    name: "channel: permits hold a slot, send without waiting, give the slot back when released",
    async run() {
      const [tx, rx] = channel<number>(2);
      const p1 = await tx.reserve();
      same([tx.capacity, tx.maxCapacity], [1, 2], "capacity falls on reserve");
      const p2 = tx.tryReserve();
      let err: unknown;
      try {
        tx.tryReserve();
      } catch (e) {
        err = e;
      }
      check(err instanceof TrySendError && err.kind === "full", "tryReserve full");
      p1.send(10);
      p2.release();
      same([tx.capacity, rx.len], [1, 1], "after one send and one release");
      same(await rx.recv(), 10, "the permit's value");
    },
  },
  {
    name: "channel: after rx.close() a permit reserved before still sends, and recv ends only after it",
    async run() {
      const [tx, rx] = channel<number>(2);
      const permit = await tx.reserve();
      rx.close();
      same(rx.tryRecv(), { ok: false, reason: "empty" }, "empty while a permit is out");
      const end = rx.recv();
      permit.send(5);
      same(await end, 5, "its value is received");
      same(await rx.recv(), undefined, "then the end");
      const err = await rejection(tx.send(6));
      check(err instanceof SendError && err.value === 6, "SendError carrying 6");
    },
  },
  {
    name: "channel: rx.close() rejects waiting senders with SendError carrying their values; buffered values stay",
    async run() {
      const [tx, rx] = channel<string>(1);
      await tx.send("kept");
      const parked = tx.send("returned");
      rx.close();
      const err = await rejection(parked);
      check(err instanceof SendError && err.value === "returned", "SendError with the value");
      same([rx.len, await rx.recv(), await rx.recv()], [1, "kept", undefined], "drain");
      await tx.closed();
      check(tx.isClosed && rx.isClosed, "both sides closed");
    },
  },
  {
    name: "channel: clones keep the channel open until every sender is closed; sameChannel",
    async run() {
      const [tx, rx] = channel<number>(4);
      const tx2 = tx.clone();
      check(tx.sameChannel(tx2), "clones are the same channel");
      check(!tx.sameChannel(channel<number>(1)[0]), "another channel is not");
      tx.close();
      tx.close();
      await tx2.send(1);
      check(!rx.isClosed, "open while a clone is");
      tx2[Symbol.dispose]();
      same([await rx.recv(), await rx.recv()], [1, undefined], "then the end");
    },
  },
  {
    name: "channel: a weak sender keeps nothing open; upgrade() gives a sender while a strong one lives; counts",
    async run() {
      const [tx, rx] = channel<number>(2);
      const weak = tx.downgrade();
      same([tx.strongCount, tx.weakCount, rx.senderStrongCount], [1, 1, 1], "one strong, one weak");
      const again = weak.upgrade();
      if (again === undefined)
        throw new Error("expected upgrade() to give a sender while a strong one lives");
      check(again.sameChannel(tx), "the upgraded sender is the same channel");
      await again.send(1);
      again.close();
      tx.close();
      same([await rx.recv(), await rx.recv()], [1, undefined], "the weak handle did not keep it open");
      check(weak.upgrade() === undefined, "no upgrade once every strong sender closed");
    },
  },
  {
    name: "channel: reserveMany waits for n slots in FIFO order; tryReserveMany is all or nothing",
    async run() {
      const [tx, rx] = channel<number>(2);
      await tx.send(0);
      check(rx.len === 1, "one buffered");
      let full: unknown;
      try {
        tx.tryReserveMany(2);
      } catch (err) {
        full = err;
      }
      check(full instanceof TrySendError && full.kind === "full", "tryReserveMany(2) with one slot is full");
      const pair = tx.reserveMany(2);
      check(await pending(pair), "reserveMany(2) waits while one slot is taken");
      same(await rx.recv(), 0, "a slot frees up");
      const [a, b] = await pair;
      a?.send(1);
      b?.send(2);
      same([await rx.recv(), await rx.recv()], [1, 2], "both permits sent");
      let tooMany: unknown;
      try {
        tx.tryReserveMany(3);
      } catch (err) {
        tooMany = err;
      }
      check(tooMany instanceof RangeError, "more than the capacity is a RangeError");
    },
  },
  {
    name: "channel: sendTimeout rejects with SendTimeoutError carrying the value when the channel stays full",
    async run() {
      const [tx, rx] = channel<string>(1);
      await tx.sendTimeout("fits", 50);
      const err = await rejection(tx.sendTimeout("late", 20));
      check(err instanceof SendTimeoutError && err.kind === "timeout" && err.value === "late", "timeout");
      same([await rx.recv(), rx.tryRecv()], ["fits", { ok: false, reason: "empty" }], "late never enqueued");
    },
  },
  {
    name: "channel: an aborted send rejects with the signal's reason and enqueues nothing; an aborted recv too",
    async run() {
      const [tx, rx] = channel<number>(1);
      await tx.send(1);
      const controller = new AbortController();
      const parked = tx.send(2, { signal: controller.signal });
      const reason = new Error("gave up");
      controller.abort(reason);
      same((await rejection(parked)) === reason, true, "the reason");
      same([await rx.recv(), rx.tryRecv()], [1, { ok: false, reason: "empty" }], "2 never enqueued");
      const already = AbortSignal.abort(reason);
      same((await rejection(rx.recv({ signal: already }))) === reason, true, "recv with an aborted signal");
      const waiting = new AbortController();
      const recv = rx.recv({ signal: waiting.signal });
      waiting.abort(reason);
      same((await rejection(recv)) === reason, true, "an aborted recv wait");
      tx.trySend(3);
      same(await rx.recv(), 3, "the next value is not lost");
    },
  },
  {
    name: "channel: for await iterates to the end; leaving the loop early closes the receiver",
    async run() {
      const [tx, rx] = channel<number>(4);
      for (const v of [1, 2, 3]) tx.trySend(v);
      const got: number[] = [];
      for await (const v of rx) {
        got.push(v);
        if (v === 2) break;
      }
      same(got, [1, 2], "values until the break");
      check(rx.isClosed, "the break closed the receiver");
      check((await rejection(tx.send(4))) instanceof SendError, "producers learn at once");
    },
  },
  {
    name: "channel: abort(reason) fails the receiver with the reason after the buffered values",
    async run() {
      const [tx, rx] = channel<number>(2);
      await tx.send(1);
      const reason = new Error("source broke");
      tx.abort(reason);
      same(await rx.recv(), 1, "buffered first");
      same((await rejection(rx.recv())) === reason, true, "then the reason");
    },
  },
  {
    name: "unboundedChannel: send never waits; values come out in order",
    async run() {
      const [tx, rx] = unboundedChannel<number>();
      for (let i = 0; i < 10_000; i++) tx.trySend(i);
      tx.close();
      let expected = 0;
      for await (const v of rx) {
        if (v !== expected) throw new Error(`expected ${expected}, got ${v}`);
        expected++;
      }
      same(expected, 10_000, "count");
    },
  },
  {
    name: "overflow policies: drop-oldest and drop-newest never wait, and every drop reaches onDrop and the count",
    async run() {
      const oldest: number[] = [];
      const [tx, rx] = channel<number>(2, { overflow: "drop-oldest", onDrop: (v) => oldest.push(v) });
      for (let i = 0; i < 5; i++) await tx.send(i);
      same(
        [oldest, tx.dropped, rx.tryRecv(), rx.tryRecv()],
        [[0, 1, 2], 3, { ok: true, value: 3 }, { ok: true, value: 4 }],
        "drop-oldest",
      );
      const newest: number[] = [];
      const [tx2, rx2] = channel<number>(2, { overflow: "drop-newest", onDrop: (v) => newest.push(v) });
      for (let i = 0; i < 5; i++) tx2.trySend(i);
      same([newest, rx2.dropped, await rx2.recvMany(5)], [[2, 3, 4], 3, [0, 1]], "drop-newest");
      let err: unknown;
      try {
        channel(2, { overflow: "sideways" as "wait" });
      } catch (e) {
        err = e;
      }
      check(err instanceof TypeError || err instanceof RangeError, "an unknown policy is refused");
    },
  },
  {
    name: "broadcast: every receiver gets every value; a slow one gets Lagged with the count missed, never a gap",
    async run() {
      const [tx, fast] = broadcast<number>(2);
      const slow = tx.subscribe();
      same(tx.receiverCount, 2, "receivers");
      for (let i = 0; i < 5; i++) {
        tx.send(i);
        same(fast.tryRecv(), { ok: true, value: i }, `fast ${i}`);
      }
      const lag = await slow.recv();
      check(lag instanceof Lagged && lag.missed === 3, "Lagged(3)");
      same([await slow.recv(), await slow.recv()], [3, 4], "then the oldest still held");
      const late = slow.resubscribe();
      tx.send(5);
      tx.close();
      same([await late.recv(), await late.recv()], [5, undefined], "a resubscribed receiver starts now");
      same(fast.tryRecv(), { ok: true, value: 5 }, "fast gets 5");
      same(fast.tryRecv(), { ok: false, reason: "closed" }, "then closed");
    },
  },
  {
    name: "broadcast: recv waits for the next value; for await yields the values to the end",
    async run() {
      const [tx, rx] = broadcast<string>(4);
      const next = rx.recv();
      check(await pending(next), "recv to wait");
      tx.send("x");
      same(await next, "x", "woken by send");
      const got: unknown[] = [];
      const reading = (async () => {
        for await (const item of rx) got.push(item instanceof Lagged ? `lagged ${item.missed}` : item);
      })();
      tx.send("y");
      tx.close();
      await reading;
      same(got, ["y"], "iteration");
    },
  },
  {
    name: "broadcast replay and resume: a late receiver gets the last k values, subscribe({ from }) a counted gap and then what is held",
    async run() {
      const [tx, rx] = broadcast<string>(4, { replay: 2 });
      rx.close();
      for (const v of ["a", "b", "c", "d", "e"]) tx.send(v); // stored though nobody listens: replay
      const late = tx.subscribe();
      same(
        [late.tryRecv(), late.lastSeq],
        [{ ok: true, value: "d" }, 4],
        "replayed, with its sequence number",
      );
      const resumed = tx.subscribe({ from: 2 });
      const gap = await resumed.recv();
      check(gap instanceof Lagged && gap.missed === 2 && resumed.lastSeq === 3, "Lagged(2) for 2 and 3");
      same([await resumed.recv(), await resumed.recv()], ["d", "e"], "then the values held");
      same(tx.nextSeq, 6, "nextSeq");
      let refused: unknown;
      try {
        tx.subscribe({ from: 7 });
      } catch (err) {
        refused = err;
      }
      check(refused instanceof RangeError, "a RangeError for a from beyond nextSeq");
    },
  },
  {
    name: "watch: borrow, borrowAndUpdate, changed and send; receivers see the latest value; RecvError once senders are gone",
    async run() {
      const [tx, rx] = watch({ n: 0 });
      same(rx.borrow(), { n: 0 }, "initial");
      check(!rx.hasChanged(), "not changed yet");
      const changed = rx.changed();
      check(await pending(changed), "changed to wait");
      tx.send({ n: 1 });
      tx.send({ n: 2 });
      await changed;
      same(rx.borrowAndUpdate(), { n: 2 }, "the latest, the ones between skipped");
      const late = tx.subscribe();
      same(late.borrow(), { n: 2 }, "a new subscriber starts from the latest");
      same(await rx.waitFor((v) => v.n === 2), { n: 2 }, "waitFor a value already there");
      tx.close();
      check((await rejection(rx.changed())) instanceof RecvError, "RecvError after the senders");
    },
  },
  {
    name: "select: exactly one operation completes, the others take and enqueue nothing",
    async run() {
      // Every sender is held to the end: a collected sender closes its channel, which would make its
      // receive ready (a GC may come at any point of a loaded run).
      const [atx, a] = channel<string>(1);
      const [btx, b] = channel<string>(1);
      const [ctx, c] = channel<string>(1);
      ctx.trySend("occupied");
      const waiting = select([a.recvOp(), b.recvOp(), ctx.sendOp("never")]);
      check(await pending(waiting), "select to wait");
      atx.trySend("first");
      same(await waiting, { index: 0, value: "first" }, "the one that completed");
      same(
        [c.tryRecv(), c.tryRecv()],
        [
          { ok: true, value: "occupied" },
          { ok: false, reason: "empty" },
        ],
        "the send took nothing",
      );
      atx.trySend("kept");
      const [wtx, wrx] = watch(0);
      const got = await select([wrx.changedOp(), a.recvOp()], { biased: true });
      same(got, { index: 1, value: "kept" }, "a ready receive");
      const reason = new Error("stop");
      same(
        (await rejection(select([b.recvOp()], { signal: AbortSignal.abort(reason) }))) === reason,
        true,
        "the signal",
      );
      check((await rejection(select([]))) instanceof RangeError, "no operations");
      btx.close();
      wtx.close();
    },
  },
  {
    name: "toReadableStream: pulls one value at a time in order, closes at the end, errors with an abort, cancel closes rx",
    async run() {
      const [tx, rx] = channel<string>(2);
      const producing = pipe(
        (async function* () {
          yield* ["a", "b", "c"];
        })(),
        tx,
      );
      const reader = toReadableStream(rx).getReader();
      const got: string[] = [];
      for (let r = await reader.read(); !r.done; r = await reader.read()) got.push(r.value);
      same([got, await producing], [["a", "b", "c"], 3], "values and pipe's count");
      const [tx2, rx2] = channel<number>(1);
      const reason = new Error("failed");
      tx2.abort(reason);
      same((await rejection(toReadableStream(rx2).getReader().read())) === reason, true, "the abort");
      const [tx3, rx3] = channel<number>(1);
      await toReadableStream(rx3).cancel();
      check(tx3.isClosed, "cancel closed the receiver");
    },
  },
  {
    name: "pipe: feeds an async iterable with backpressure, stops when the receiver closes, rejects with the source's error",
    async run() {
      const [tx, rx] = channel<number>(1);
      let produced = 0;
      let cleaned = false;
      const piping = pipe(
        (async function* () {
          try {
            for (;;) yield produced++;
          } finally {
            cleaned = true;
          }
        })(),
        tx,
      );
      same(await rx.recv(), 0, "first");
      rx.close();
      await piping.catch(() => {});
      check(cleaned && produced < 5, "the source stopped and was cleaned up");
      const [tx2, rx2] = channel<number>(2);
      const reason = new Error("source failed");
      const failing = pipe(
        (async function* () {
          yield 1;
          throw reason;
        })(),
        tx2,
      );
      same((await rejection(failing)) === reason, true, "pipe rejects with it");
      same(await rx2.recv(), 1, "values before it");
      same((await rejection(rx2.recv())) === reason, true, "the receiver fails with it");
    },
  },
  {
    name: "the starvation guarantee: sends and receives that never wait still let a setTimeout run",
    async run() {
      const [tx, rx] = channel<number>(1024);
      const total = 100_000;
      let received = 0;
      let firedAt = -1;
      setTimeout(() => {
        firedAt = received;
      }, 0);
      const producer = (async () => {
        for (let i = 0; i < total; i++) await tx.send(i);
        tx.close();
      })();
      for await (const _ of rx) received++;
      await producer;
      same(received, total, "received");
      check(firedAt > 0 && firedAt < total, `the timer to fire during the run (fired at ${firedAt})`);
      let rounds = 0;
      let firedAfter = -1;
      setTimeout(() => {
        firedAfter = rounds;
      }, 0);
      const [ptx, prx] = channel<number>(4);
      for (; rounds < 50_000; rounds++) {
        (await ptx.reserve()).send(rounds);
        if (prx.tryRecv().ok !== true) throw new Error("lost a value");
      }
      check(
        firedAfter > 0 && firedAfter < 50_000,
        `the timer to fire during reserve/tryRecv (at ${firedAfter})`,
      );
    },
  },
  {
    name: "errors: SendError and TrySendError are recognised across copies (instanceof) and keep their values",
    run() {
      const e = new SendError("v");
      check(e instanceof Error && e instanceof SendError && e.value === "v", "SendError");
      check(!(new Error("x") instanceof SendError), "a plain Error is not one");
      const t = new TrySendError("full", 1);
      check(t instanceof TrySendError && !(t instanceof SendError), "TrySendError");
      check(new Lagged(2).missed === 2, "Lagged");
    },
  },
];
