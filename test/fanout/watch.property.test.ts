/**
 * watch against its model: the value only grows (each send is the next number, through any of the
 * sending methods), and receivers that read at random paces, by iteration or by `changed()`, never
 * see it go backwards, never see a value twice, and end on the last value sent.
 */
import fc from "fast-check";
import { RecvError, type WatchReceiver, watch } from "grpc-mpsc";
import { describe, expect, it } from "vitest";

type Op = { op: "send"; how: "send" | "sendReplace" | "sendModify" | "sendIfModified" } | { op: "flush" };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("send" as const),
      how: fc.constantFrom(
        "send" as const,
        "sendReplace" as const,
        "sendModify" as const,
        "sendIfModified" as const,
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("flush" as const) }) },
);

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Reads `rx` to its end by iteration, pausing `pauses[i]` turns after the i-th value. */
async function iterate(rx: WatchReceiver<number>, pauses: number[]): Promise<number[]> {
  const seen: number[] = [];
  for await (const v of rx) {
    seen.push(v);
    for (let k = 0; k < (pauses[seen.length % pauses.length] ?? 0); k++) await tick();
  }
  return seen;
}

/** Reads `rx` to its end with `changed()` and `borrowAndUpdate()`. */
async function poll(rx: WatchReceiver<number>, pauses: number[]): Promise<number[]> {
  const seen: number[] = [rx.borrowAndUpdate()];
  for (;;) {
    try {
      await rx.changed();
    } catch (err) {
      expect(err).toBeInstanceOf(RecvError);
      return seen;
    }
    seen.push(rx.borrowAndUpdate());
    for (let k = 0; k < (pauses[seen.length % pauses.length] ?? 0); k++) await tick();
  }
}

describe("watch, model-based", () => {
  it("never goes backwards, never repeats, and ends on the last value", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { maxLength: 60 }),
        fc.array(fc.array(fc.nat(3), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 }),
        async (ops, paces) => {
          const [tx, rx] = watch(0);
          const readers = paces.map((pauses, i) => {
            const r = i === 0 ? rx : tx.subscribe();
            return i % 2 === 0 ? iterate(r, pauses) : poll(r, pauses);
          });
          let last = 0;
          for (const o of ops) {
            if (o.op === "flush") {
              await tick();
              continue;
            }
            const next = last + 1;
            if (o.how === "send") tx.send(next);
            else if (o.how === "sendReplace") expect(tx.sendReplace(next)).toBe(last);
            else if (o.how === "sendModify") tx.sendModify((v) => v + 1);
            else expect(tx.sendIfModified(() => false)).toBe(false); // a no-op wakes nobody...
            if (o.how === "sendIfModified") tx.sendModify(() => next); // ...then the change
            last = next;
            expect(tx.borrow()).toBe(last);
          }
          tx.close();
          for (const seen of await Promise.all(readers)) {
            for (let k = 1; k < seen.length; k++) expect(seen[k]).toBeGreaterThan(seen[k - 1] as number);
            expect(seen.at(-1)).toBe(last);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
