/**
 * broadcast against its model: value n is the n-th value sent. Per receiver, what it gets (values and
 * gaps) accounts for every value sent after it subscribed, in order: the values it receives plus the
 * counts its gaps report are exactly the values sent since it subscribed, none twice, none silently
 * skipped. A gap is reported only for a receiver that fell more than `capacity` behind.
 */
import fc from "fast-check";
import { type BroadcastReceiver, broadcast, Lagged } from "grpc-mpsc";
import { describe, expect, it } from "vitest";

type Op =
  | { op: "send"; count: number }
  | { op: "subscribe" }
  | { op: "resubscribe"; i: number }
  | { op: "tryRecv"; i: number }
  | { op: "recv"; i: number; abortable: boolean }
  | { op: "abort"; i: number }
  | { op: "close"; i: number }
  | { op: "flush" };

const i = fc.nat(10);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant("send" as const), count: fc.integer({ min: 1, max: 4 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("subscribe" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("resubscribe" as const), i }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("tryRecv" as const), i }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("recv" as const), i, abortable: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("abort" as const), i }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("close" as const), i }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("flush" as const) }) },
);

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One receiver and what it got, in the order its receives were made (they are served in that order). */
interface Sub {
  rx: BroadcastReceiver<number>;
  /** Values sent before it subscribed. */
  from: number;
  items: (number | Lagged)[][];
  pending: Promise<unknown> | undefined;
  closed: boolean;
}

async function check(capacity: number, ops: Op[]): Promise<void> {
  const [tx, rx0] = broadcast<number>(capacity);
  let sent = 0;
  const subs: Sub[] = [];
  const add = (rx: BroadcastReceiver<number>): void => {
    subs.push({ rx, from: sent, items: [], pending: undefined, closed: false });
  };
  add(rx0);
  const controllers: AbortController[] = [];
  const pick = (n: number): Sub | undefined => subs[n % subs.length];

  for (const o of ops) {
    switch (o.op) {
      case "send":
        for (let k = 0; k < o.count; k++) {
          const open = subs.filter((s) => !s.closed).length;
          if (open === 0) {
            expect(() => tx.send(sent)).toThrow();
            continue;
          }
          expect(tx.send(sent++)).toBe(open);
        }
        break;
      case "subscribe":
        add(tx.subscribe());
        break;
      case "resubscribe": {
        const s = pick(o.i);
        if (s) add(s.rx.resubscribe());
        break;
      }
      case "tryRecv": {
        const s = pick(o.i);
        if (!s || s.pending) break;
        const r = s.rx.tryRecv();
        if (r instanceof Lagged || r.ok) s.items.push([r instanceof Lagged ? r : r.value]);
        else expect(r.reason).toBe(s.closed ? "closed" : "empty");
        break;
      }
      case "recv": {
        const s = pick(o.i);
        if (!s || s.pending) break;
        const c = o.abortable ? new AbortController() : undefined;
        if (c) controllers.push(c);
        const into: (number | Lagged)[] = [];
        s.items.push(into);
        s.pending = s.rx.recv({ signal: c?.signal }).then(
          (item) => {
            if (item !== undefined) into.push(item);
            s.pending = undefined;
          },
          () => {
            s.pending = undefined; // aborted: it read nothing
          },
        );
        break;
      }
      case "abort":
        controllers[o.i % Math.max(1, controllers.length)]?.abort();
        break;
      case "close": {
        const s = pick(o.i);
        if (!s) break;
        s.rx.close();
        s.closed = true;
        break;
      }
      case "flush":
        await tick();
        break;
    }
    expect(tx.len).toBeLessThanOrEqual(capacity);
    for (const s of subs) if (!s.closed && !s.pending) expect(s.rx.len).toBe(sent - (s.from + accounted(s)));
  }

  // Wind down: close the sender, read every open receiver to its end.
  tx.close();
  for (const s of subs) {
    await s.pending;
    for (let item = await s.rx.recv(); item !== undefined; item = await s.rx.recv()) s.items.push([item]);
  }

  for (const s of subs) {
    let expected = s.from;
    for (const item of s.items.flat()) {
      if (item instanceof Lagged) {
        expect(item.missed).toBeGreaterThan(0);
        expected += item.missed;
      } else {
        expect(item).toBe(expected);
        expected++;
      }
    }
    if (s.closed) expect(expected).toBeLessThanOrEqual(sent);
    else expect(expected).toBe(sent); // every value sent after it subscribed: received or reported lost
  }
}

/** Values a receiver has accounted for so far: received, or reported in a gap. */
function accounted(s: Sub): number {
  let n = 0;
  for (const item of s.items.flat()) n += item instanceof Lagged ? item.missed : 1;
  return n;
}

describe("broadcast, model-based", () => {
  it("per receiver, received + reported lagged = sent after it subscribed, in order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.array(opArb, { maxLength: 80 }), (capacity, ops) =>
        check(capacity, ops),
      ),
      { numRuns: 400 },
    );
  });

  it("a gap is reported only to a receiver more than capacity behind: one that keeps up never lags", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.nat(8), { maxLength: 30 }),
        async (capacity, bursts) => {
          const [tx, rx] = broadcast<number>(capacity);
          let n = 0;
          for (const burst of bursts) {
            const size = Math.min(burst, capacity); // never more than capacity between reads
            for (let k = 0; k < size; k++) tx.send(n++);
            for (let k = 0; k < size; k++) expect(await rx.recv()).toBe(n - size + k);
          }
        },
      ),
    );
  });
});
