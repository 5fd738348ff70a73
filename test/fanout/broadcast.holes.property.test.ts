/**
 * The broadcast core as a shared-log feed drives it (a first sequence number above 1, holes for
 * values lost upstream) against a model, with receivers that subscribe, resume, resubscribe, read
 * in bursts and close at any point: every receiver accounts for every position from where it
 * started (a value equal to its position, or a Lagged counting exactly the rest), and the ring
 * holds no more than `capacity` values, and only the replay window once everyone is gone.
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import {
  type BroadcastReceiver,
  BroadcastSender,
  HOLE,
  Shared,
  subscribeTo,
} from "../../src/fanout/broadcast.js";
import type { Lagged } from "../../src/fanout/errors.js";

type Op =
  | { op: "send"; count: number }
  | { op: "skip"; count: number }
  | { op: "subscribe" }
  | { op: "resume"; back: number }
  | { op: "read"; i: number; max: number }
  | { op: "close"; i: number }
  | { op: "resubscribe"; i: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant("send" as const), count: fc.integer({ min: 1, max: 5 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("skip" as const), count: fc.integer({ min: 1, max: 14 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("subscribe" as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("resume" as const), back: fc.nat(20) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("read" as const),
      i: fc.nat(8),
      max: fc.integer({ min: 1, max: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("close" as const), i: fc.nat(8) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("resubscribe" as const), i: fc.nat(8) }) },
);

it("every receiver accounts for every position, holes and gaps counted exactly, and the ring stays bounded", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.nat(6),
      fc.integer({ min: 1, max: 50 }),
      fc.array(opArb, { maxLength: 80 }),
      (capacity, rp, first, ops) => {
        const replay = rp % (capacity + 1);
        const shared = new Shared<number>(capacity, replay, first);
        const tx = new BroadcastSender(shared);
        const holes = new Set<number>();
        type S = { rx: BroadcastReceiver<number>; expected: number; open: boolean };
        const subs: S[] = [];
        const add = (rx: BroadcastReceiver<number>, from?: number): void => {
          const expected = rx.lastSeq + 1;
          if (from !== undefined) expect(expected).toBe(from);
          else {
            const start = Math.max(first, shared.tail - replay);
            expect(expected).toBeGreaterThanOrEqual(start);
            for (let p = start; p < expected; p++) expect(holes.has(p)).toBe(true);
          }
          subs.push({ rx, expected, open: true });
        };
        const read = (s: S, max: number): void => {
          let n = 0;
          for (let r = s.rx.tryRecv(); r.ok || r.reason === "lagged"; r = s.rx.tryRecv()) {
            if (r.ok) {
              expect(r.value).toBe(s.expected);
              s.expected++;
            } else {
              const missed = (r as Lagged).missed;
              expect(missed).toBeGreaterThan(0);
              s.expected += missed;
            }
            expect(s.rx.lastSeq).toBe(s.expected - 1);
            if (++n >= max) break;
          }
        };
        const held = (): number =>
          shared.ring.filter((v) => v !== undefined && (v as unknown) !== HOLE).length;
        for (const op of ops) {
          if (op.op === "send") {
            for (let k = 0; k < op.count; k++) {
              // As BroadcastSender.send: a value for nobody is not stored (a hole keeps the numbering).
              if (shared.receivers.count > 0 || replay > 0) shared.send(shared.tail);
              else {
                holes.add(shared.tail);
                shared.skip(1);
              }
            }
          } else if (op.op === "skip") {
            for (let k = 0; k < op.count; k++) holes.add(shared.tail + k);
            shared.skip(op.count);
          } else if (op.op === "subscribe") add(tx.subscribe());
          else if (op.op === "resume") {
            const from = Math.max(1, shared.tail - op.back);
            add(subscribeTo(shared, { from }), from);
          } else if (subs.length > 0) {
            const s = subs[op.i % subs.length] as S;
            if (op.op === "read") {
              if (s.open) read(s, op.max);
            } else if (op.op === "close") {
              s.rx.close();
              s.open = false;
            } else add(s.rx.resubscribe());
          }
          expect(held()).toBeLessThanOrEqual(capacity);
          expect(shared.ring.length).toBeLessThanOrEqual(shared.mask + 1);
          for (let p = Math.max(first, shared.tail - capacity); p < shared.tail; p++)
            expect(shared.rem[p & shared.mask]).toBeGreaterThanOrEqual(0);
        }
        for (const s of subs)
          if (s.open) {
            read(s, Number.POSITIVE_INFINITY);
            expect(s.expected).toBe(shared.tail);
          }
        for (const s of subs) s.rx.close();
        // Nobody left: only the replay window may stay (holes included).
        expect(held()).toBeLessThanOrEqual(replay);
        expect(shared.receivers.count).toBe(0);
      },
    ),
    { numRuns: 500 },
  );
});
