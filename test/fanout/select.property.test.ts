/**
 * select loses nothing: random interleavings of selects (over receives and sends on a few channels),
 * plain sends and receives, aborts and turns of the event loop. Every value handed to a send is, in
 * the end, received exactly once or given back (an error, an abort, or a select that another operation
 * won); a select completes exactly one of its operations.
 */
import fc from "fast-check";
import { channel, type Receiver, type SelectOp, SendError, type Sender, select } from "grpc-mpsc";
import { describe, expect, it } from "vitest";

type Branch = { kind: "recv" | "send"; ch: number };
type Op =
  | { op: "select"; branches: Branch[]; abortable: boolean; biased: boolean }
  | { op: "send"; ch: number; abortable: boolean }
  | { op: "trySend"; ch: number }
  | { op: "recv"; ch: number; abortable: boolean }
  | { op: "tryRecv"; ch: number }
  | { op: "abort"; i: number }
  | { op: "flush" };

const CHANNELS = 3;
const ch = fc.nat(CHANNELS - 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("select" as const),
      branches: fc.array(fc.record({ kind: fc.constantFrom("recv" as const, "send" as const), ch }), {
        minLength: 1,
        maxLength: 4,
      }),
      abortable: fc.boolean(),
      biased: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("send" as const), ch, abortable: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("trySend" as const), ch }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("recv" as const), ch, abortable: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("tryRecv" as const), ch }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("abort" as const), i: fc.nat(30) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("flush" as const) }) },
);

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function check(capacities: number[], ops: Op[]): Promise<void> {
  const chans: [Sender<string>, Receiver<string>][] = capacities.map((c) => channel<string>(c));
  let seq = 0;
  const created = new Set<string>();
  const returned = new Set<string>(); // not enqueued: given back by an error, an abort or a lost select
  const accepted = new Set<string>(); // enqueued: a send resolved, a trySend returned, a select won with it
  const received: string[] = [];
  const controllers: AbortController[] = [];
  const pending: Promise<unknown>[] = [];
  const fresh = (c: number): string => {
    const v = `${c}:${seq++}`;
    created.add(v);
    return v;
  };
  const signal = (abortable: boolean): AbortSignal | undefined => {
    if (!abortable) return undefined;
    const c = new AbortController();
    controllers.push(c);
    return c.signal;
  };
  const gotBack = (v: string, err: unknown): void => {
    if (err instanceof SendError) expect(err.value).toBe(v);
    expect(returned.has(v)).toBe(false);
    returned.add(v);
  };
  const tx = (c: number): Sender<string> => (chans[c] as [Sender<string>, Receiver<string>])[0];
  const rx = (c: number): Receiver<string> => (chans[c] as [Sender<string>, Receiver<string>])[1];

  for (const o of ops) {
    switch (o.op) {
      case "select": {
        const values = o.branches.map((b) => (b.kind === "send" ? fresh(b.ch) : undefined));
        const sel: SelectOp<unknown>[] = o.branches.map((b, i) =>
          b.kind === "send" ? tx(b.ch).sendOp(values[i] as string) : rx(b.ch).recvOp(),
        );
        const sends = values.filter((v): v is string => v !== undefined);
        pending.push(
          select(sel, { signal: signal(o.abortable), biased: o.biased }).then(
            ({ index, value }) => {
              const b = o.branches[index] as Branch;
              if (b.kind === "recv") {
                if (value !== undefined) {
                  expect((value as string).startsWith(`${b.ch}:`)).toBe(true);
                  received.push(value as string);
                }
              } else accepted.add(values[index] as string);
              for (const v of sends) if (v !== values[index]) gotBack(v, undefined);
            },
            (err: unknown) => {
              for (const v of sends)
                gotBack(v, err instanceof SendError && err.value !== v ? undefined : err);
            },
          ),
        );
        break;
      }
      case "send": {
        const v = fresh(o.ch);
        pending.push(
          tx(o.ch)
            .send(v, { signal: signal(o.abortable) })
            .then(
              () => accepted.add(v),
              (err: unknown) => gotBack(v, err),
            ),
        );
        break;
      }
      case "trySend": {
        const v = fresh(o.ch);
        try {
          tx(o.ch).trySend(v);
          accepted.add(v);
        } catch (err) {
          gotBack(v, err);
        }
        break;
      }
      case "recv":
        pending.push(
          rx(o.ch)
            .recv({ signal: signal(o.abortable) })
            .then(
              (v) => {
                if (v !== undefined) received.push(v);
              },
              () => {},
            ),
        );
        break;
      case "tryRecv": {
        const r = rx(o.ch).tryRecv();
        if (r.ok) received.push(r.value);
        break;
      }
      case "abort":
        controllers[o.i % Math.max(1, controllers.length)]?.abort(new Error("aborted by the test"));
        break;
      case "flush":
        await tick();
        break;
    }
    for (const [c, [, r]] of chans.entries()) expect(r.len).toBeLessThanOrEqual(capacities[c] as number);
  }

  // Wind down: close every sender, then drain every channel until it reports closed (parked sends
  // and selects still complete into the room the draining makes).
  for (const [t] of chans) t.close();
  for (let spins = 0; ; spins++) {
    if (spins > 10_000) throw new Error("a channel never reported closed");
    let open = 0;
    for (const [, r] of chans) {
      const got = r.tryRecv();
      if (got.ok) received.push(got.value);
      if (got.ok || got.reason === "empty") open++;
    }
    if (open === 0) break;
    await tick();
  }
  await Promise.all(pending);

  expect(new Set(received).size).toBe(received.length); // nothing received twice
  for (const v of received) {
    expect(created.has(v)).toBe(true);
    expect(returned.has(v)).toBe(false); // nothing both given back and received
  }
  for (const v of accepted) expect(received).toContain(v);
  expect(received.length + returned.size).toBe(created.size); // nothing lost
}

describe("select, model-based", () => {
  it("loses nothing: every value is received exactly once or given back, and one operation completes per select", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: CHANNELS, maxLength: CHANNELS }),
        fc.array(opArb, { maxLength: 60 }),
        (capacities, ops) => check(capacities, ops),
      ),
      { numRuns: 300 },
    );
  });
});
