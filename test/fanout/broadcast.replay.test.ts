/**
 * Replay and resume: `broadcast(n, { replay: k })` hands a new receiver the last k values, every value
 * has a sequence number (`rx.lastSeq`), and `tx.subscribe({ from })` resumes from one, with a `Lagged`
 * counting exactly what is gone. Tokio's broadcast has neither; where Tokio's rules carry over (lag,
 * close, the memory bound), these tests hold the resumed and replayed receivers to them too.
 */
import fc from "fast-check";
import { type BroadcastReceiver, broadcast, Lagged, SendError } from "grpc-mpsc";
import { describe, expect, it } from "vitest";

/** Everything `rx` holds now, as values and `Lagged` counts, with the lastSeq after each. */
function drain<T>(rx: BroadcastReceiver<T>): { items: (T | string)[]; seqs: number[] } {
  const items: (T | string)[] = [];
  const seqs: number[] = [];
  for (let r = rx.tryRecv(); r.ok || r.reason === "lagged"; r = rx.tryRecv()) {
    items.push(r.ok ? r.value : `lagged ${(r as Lagged).missed}`);
    seqs.push(rx.lastSeq);
  }
  return { items, seqs };
}

describe("broadcast replay", () => {
  it("a new receiver gets the last k values first, each with its sequence number", () => {
    const [tx, rx] = broadcast<string>(8, { replay: 3 });
    for (const v of ["a", "b", "c", "d", "e"]) tx.send(v);
    expect(drain(rx)).toEqual({ items: ["a", "b", "c", "d", "e"], seqs: [1, 2, 3, 4, 5] });
    const late = tx.subscribe();
    expect(late.lastSeq).toBe(2);
    expect(drain(late)).toEqual({ items: ["c", "d", "e"], seqs: [3, 4, 5] });
    expect(tx.nextSeq).toBe(6);
  });

  it("replays fewer when fewer were sent, and nothing with replay 0 (Tokio's behaviour)", () => {
    const [tx, rx] = broadcast<number>(4, { replay: 4 });
    tx.send(1);
    expect(drain(tx.subscribe()).items).toEqual([1]);
    rx.close();
    const [tx0, rx0] = broadcast<number>(4);
    tx0.send(1);
    expect(drain(tx0.subscribe()).items).toEqual([]);
    expect(drain(rx0).items).toEqual([1]);
  });

  it("with replay, a value sent while nobody listens is kept for the next receiver", () => {
    const [tx, rx] = broadcast<number>(4, { replay: 2 });
    rx.close();
    expect(tx.receiverCount).toBe(0);
    expect(tx.send(1)).toBe(0);
    expect(tx.send(2)).toBe(0);
    expect(tx.send(3)).toBe(0);
    expect(drain(tx.subscribe()).items).toEqual([2, 3]);
    // Without replay, nothing is stored and the value comes back, as before.
    const [tx0, rx0] = broadcast<number>(4);
    rx0.close();
    expect(() => tx0.send(1)).toThrow(SendError);
    expect(tx0.nextSeq).toBe(1);
  });

  it("replay = capacity: a new receiver that cannot keep up lags like any other", () => {
    const [tx, rx] = broadcast<number>(2, { replay: 2 });
    for (let i = 1; i <= 3; i++) tx.send(i);
    const late = tx.subscribe();
    tx.send(4);
    tx.send(5);
    expect(drain(late).items).toEqual(["lagged 2", 4, 5]);
    expect(drain(rx).items).toEqual(["lagged 3", 4, 5]);
  });

  it("resubscribe() starts like subscribe(): after the replayed values", () => {
    const [tx, rx] = broadcast<number>(4, { replay: 1 });
    tx.send(1);
    tx.send(2);
    expect(drain(rx.resubscribe()).items).toEqual([2]);
  });

  it("a receiver that ends reports the replayed values, then the end", async () => {
    const [tx, rx] = broadcast<number>(4, { replay: 2 });
    tx.send(1);
    tx.send(2);
    const late = tx.subscribe();
    tx.close();
    expect(await late.recv()).toBe(1);
    expect(await late.recv()).toBe(2);
    expect(await late.recv()).toBeUndefined();
    rx.close();
  });
});

describe("broadcast resume: subscribe({ from })", () => {
  it("gets every value from `from` still held, then what follows", async () => {
    const [tx, rx] = broadcast<string>(8, { replay: 8 });
    for (const v of ["a", "b", "c", "d"]) tx.send(v);
    const resumed = tx.subscribe({ from: 3 });
    expect(resumed.lastSeq).toBe(2);
    expect(drain(resumed)).toEqual({ items: ["c", "d"], seqs: [3, 4] });
    const next = resumed.recv();
    tx.send("e");
    expect(await next).toBe("e");
    expect(resumed.lastSeq).toBe(5);
    rx.close();
  });

  it("reports exactly how many of those wanted are gone, then goes on with the oldest held", () => {
    const [tx, rx] = broadcast<number>(4, { replay: 2 });
    for (let i = 1; i <= 10; i++) tx.send(i);
    drain(rx); // everyone read everything: only the replay window (9, 10) is held
    const resumed = tx.subscribe({ from: 4 });
    expect(resumed.len).toBe(7);
    const first = resumed.tryRecv();
    expect(first).toBeInstanceOf(Lagged);
    expect((first as Lagged).missed).toBe(5); // 4..8
    expect(resumed.lastSeq).toBe(8);
    expect(drain(resumed).items).toEqual([9, 10]);
  });

  it("values an unread receiver still holds are resumable beyond the replay window", () => {
    const [tx, slow] = broadcast<number>(8);
    for (let i = 1; i <= 6; i++) tx.send(i);
    const resumed = tx.subscribe({ from: 2 });
    expect(drain(resumed).items).toEqual([2, 3, 4, 5, 6]);
    expect(drain(slow).items).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("from = nextSeq waits for the next value; from 1 on an empty channel too", async () => {
    const [tx, rx] = broadcast<number>(4);
    const fresh = tx.subscribe({ from: 1 });
    expect(fresh.isEmpty).toBe(true);
    tx.send(7);
    const atTail = tx.subscribe({ from: tx.nextSeq });
    expect(atTail.tryRecv()).toEqual({ ok: false, reason: "empty" });
    const wait = atTail.recv();
    tx.send(8);
    expect(await wait).toBe(8);
    expect(drain(fresh).items).toEqual([7, 8]);
    rx.close();
  });

  it("a resumed receiver that lags gets its gap counts merged into one Lagged", async () => {
    const [tx, rx] = broadcast<number>(2, { replay: 1 });
    for (let i = 1; i <= 4; i++) tx.send(i);
    drain(rx);
    const resumed = tx.subscribe({ from: 1 }); // 1..3 gone, 4 held
    for (let i = 5; i <= 7; i++) tx.send(i); // and now 4, 5 fall out of the ring before it reads
    const r = await resumed.recv();
    expect(r).toBeInstanceOf(Lagged);
    expect((r as Lagged).missed).toBe(5);
    expect(drain(resumed).items).toEqual([6, 7]);
  });

  it("a parked resumed receive with a gap to report returns it at once", async () => {
    const [tx, rx] = broadcast<number>(2);
    tx.send(1);
    tx.send(2);
    drain(rx);
    const resumed = tx.subscribe({ from: 1 });
    const r = await resumed.recv();
    expect(r).toBeInstanceOf(Lagged);
    expect((r as Lagged).missed).toBe(2);
    expect(resumed.lastSeq).toBe(2);
  });

  it("closing a resumed receiver releases what it held for it", () => {
    const [tx, rx] = broadcast<number>(4);
    for (let i = 1; i <= 3; i++) tx.send(i);
    drain(rx);
    expect(tx.len).toBe(0);
    const resumed = tx.subscribe({ from: 3 }); // 3 was read by all and released: gone
    expect(tx.len).toBe(0);
    resumed.close();
    const [tx2, rx2] = broadcast<number>(4, { replay: 4 });
    for (let i = 1; i <= 3; i++) tx2.send(i);
    drain(rx2);
    const held = tx2.subscribe({ from: 2 });
    expect(tx2.len).toBe(2);
    held.close();
    expect(tx2.len).toBe(0);
  });

  it("a receiver subscribed after every sender closed is ended, from or not", () => {
    const [tx, rx] = broadcast<number>(4, { replay: 2 });
    tx.send(1);
    tx.close();
    // subscribe on a closed handle still validates and hands an ended receiver back
    expect(tx.subscribe({ from: 1 }).isClosed).toBe(true);
    rx.close();
  });
});

describe("replay and from: bad input, one message form", () => {
  it.each([
    [-1, "-1"],
    [5, "5"],
    [1.5, "1.5"],
    ["2", '"2"'],
    [Number.NaN, "NaN"],
  ])("replay %s is refused with a RangeError naming replay", (replay, shown) => {
    expect(() => broadcast(4, { replay: replay as number })).toThrow(
      new RangeError(`Expected \`replay\` to be an integer from 0 to 4, got ${shown}`),
    );
  });

  it.each([
    [0, "0"],
    [4, "4"],
    [1.5, "1.5"],
    ["1", '"1"'],
    [-3, "-3"],
  ])("from %s is refused with a RangeError naming from and the range (nextSeq is 3)", (from, shown) => {
    const [tx, rx] = broadcast<number>(4);
    tx.send(1);
    tx.send(2);
    expect(() => tx.subscribe({ from: from as number })).toThrow(
      new RangeError(`Expected \`from\` to be an integer from 1 to 3, got ${shown}`),
    );
    expect(tx.receiverCount).toBe(1); // nothing subscribed by the refusal
    rx.close();
  });
});

describe("replay and resume against the model", () => {
  type Op =
    | { op: "send"; count: number }
    | { op: "subscribe" }
    | { op: "resume"; back: number }
    | { op: "read"; i: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant("send" as const), count: fc.integer({ min: 1, max: 5 }) }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("subscribe" as const) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("resume" as const), back: fc.nat(12) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant("read" as const), i: fc.nat(8) }) },
  );

  it("every receiver accounts for every value from where it started, in order, gaps counted exactly", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.nat(6),
        fc.array(opArb, { maxLength: 60 }),
        (capacity, replayPick, ops) => {
          const replay = replayPick % (capacity + 1);
          const [tx, rx0] = broadcast<number>(capacity, { replay });
          const subs: { rx: BroadcastReceiver<number>; expected: number }[] = [{ rx: rx0, expected: 1 }];
          const read = (s: { rx: BroadcastReceiver<number>; expected: number }): void => {
            for (let r = s.rx.tryRecv(); r.ok || r.reason === "lagged"; r = s.rx.tryRecv()) {
              if (r.ok) {
                expect(r.value).toBe(s.expected); // value n is the n-th sent: in order, none twice
                s.expected++;
              } else {
                expect((r as Lagged).missed).toBeGreaterThan(0);
                s.expected += (r as Lagged).missed;
              }
              expect(s.rx.lastSeq).toBe(s.expected - 1);
            }
          };
          for (const op of ops) {
            if (op.op === "send") for (let n = 0; n < op.count; n++) tx.send(tx.nextSeq);
            else if (op.op === "subscribe") {
              const rx = tx.subscribe();
              const start = Math.max(1, tx.nextSeq - replay);
              expect(rx.lastSeq).toBe(start - 1);
              subs.push({ rx, expected: start });
            } else if (op.op === "resume") {
              const from = Math.max(1, tx.nextSeq - op.back);
              const rx = tx.subscribe({ from });
              const s = { rx, expected: from };
              subs.push(s);
              // Within the replay window nothing can be gone.
              if (from >= tx.nextSeq - replay) {
                const first = rx.tryRecv();
                expect(first).not.toBeInstanceOf(Lagged);
                if (first.ok) {
                  expect(first.value).toBe(from);
                  s.expected++;
                }
              }
            } else {
              const s = subs[op.i % subs.length];
              if (s !== undefined) read(s);
            }
            expect(tx.len).toBeLessThanOrEqual(capacity); // memory O(capacity)
          }
          for (const s of subs) {
            read(s);
            expect(s.expected).toBe(tx.nextSeq); // the sum is exact
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
