import fc from "fast-check";
import { channel, type Permit, type Receiver, SendError, type Sender, TrySendError } from "grpc-mpsc";
import { describe, expect, it } from "vitest";

/** A value is "producer:seq"; `seq` orders the values a producer hands to send/trySend. */
type Value = string;

type Op =
  | { op: "send"; p: number; abortable: boolean }
  | { op: "trySend"; p: number }
  | { op: "reserve"; p: number; wait: boolean }
  | { op: "permitSend"; i: number }
  | { op: "permitRelease"; i: number }
  | { op: "abort"; i: number }
  | { op: "close"; p: number }
  | { op: "clone"; p: number }
  | { op: "recv"; abortable: boolean }
  | { op: "tryRecv" }
  | { op: "recvMany"; limit: number }
  | { op: "rxClose" }
  | { op: "flush" };

const producerIndex = fc.nat(5);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant("send" as const), p: producerIndex, abortable: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("trySend" as const), p: producerIndex }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("reserve" as const), p: producerIndex, wait: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("permitSend" as const), i: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("permitRelease" as const), i: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("abort" as const), i: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("close" as const), p: producerIndex }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("clone" as const), p: producerIndex }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("recv" as const), abortable: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("tryRecv" as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("recvMany" as const), limit: fc.integer({ min: 1, max: 5 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("rxClose" as const) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("flush" as const) }) },
);

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs `ops` against a real channel and checks it against the model; returns nothing, throws on a violation. */
async function check(capacity: number, ops: Op[]): Promise<void> {
  const [tx0, rx]: [Sender<Value>, Receiver<Value>] = channel<Value>(capacity);
  const handles: { tx: Sender<Value>; id: number; seq: number }[] = [{ tx: tx0, id: 0, seq: 0 }];
  for (let i = 1; i < 3; i++) handles.push({ tx: tx0.clone(), id: i, seq: 0 });
  const permits: { permit: Permit<Value>; value: Value }[] = [];
  const controllers: AbortController[] = [];
  const pending: Promise<unknown>[] = [];

  const created = new Set<Value>();
  const accepted = new Set<Value>(); // in the channel (send resolved, trySend or permit.send returned)
  const returned = new Set<Value>(); // given back through an error
  // Receive calls in the order they were made: the channel serves them in that order, so the
  // concatenation of their results is the order in which values left the channel.
  const calls: Value[][] = [];
  const slot = (): Value[] => {
    const values: Value[] = [];
    calls.push(values);
    return values;
  };
  const orderChecked = new Set<Value>(); // values from send/trySend: FIFO per producer applies

  const fresh = (h: (typeof handles)[number]): Value => {
    const v = `${h.id}:${String(h.seq++).padStart(6, "0")}`;
    created.add(v);
    return v;
  };
  const give = (v: Value, err: unknown): void => {
    if (err instanceof SendError || err instanceof TrySendError) expect(err.value).toBe(v);
    expect(returned.has(v)).toBe(false);
    returned.add(v);
  };
  const checkBound = (): void => {
    expect(rx.len).toBeLessThanOrEqual(capacity);
  };

  for (const o of ops) {
    const h = "p" in o ? handles[o.p % handles.length] : undefined;
    switch (o.op) {
      case "send": {
        if (!h) break;
        const v = fresh(h);
        orderChecked.add(v);
        let signal: AbortSignal | undefined;
        if (o.abortable) {
          const c = new AbortController();
          controllers.push(c);
          signal = c.signal;
        }
        pending.push(
          h.tx.send(v, { signal }).then(
            () => accepted.add(v),
            (err: unknown) => give(v, err),
          ),
        );
        break;
      }
      case "trySend": {
        if (!h) break;
        const v = fresh(h);
        orderChecked.add(v);
        try {
          h.tx.trySend(v);
          accepted.add(v);
        } catch (err) {
          give(v, err);
        }
        break;
      }
      case "reserve": {
        if (!h) break;
        const v = fresh(h); // the value's place in the order is its reservation
        const got = (permit: Permit<Value>): void => {
          permits.push({ permit, value: v });
        };
        if (o.wait) {
          pending.push(
            h.tx.reserve().then(got, (err: unknown) => give(v, err instanceof SendError ? undefined : err)),
          );
        } else {
          try {
            got(h.tx.tryReserve());
          } catch {
            returned.add(v);
          }
        }
        break;
      }
      case "permitSend":
      case "permitRelease": {
        const entry = permits[o.i % Math.max(1, permits.length)];
        if (!entry || entry.permit.isUsed) break;
        if (o.op === "permitSend") {
          entry.permit.send(entry.value);
          accepted.add(entry.value);
        } else {
          entry.permit.release();
          returned.add(entry.value);
        }
        break;
      }
      case "abort":
        controllers[o.i % Math.max(1, controllers.length)]?.abort(new Error("aborted by the test"));
        break;
      case "close":
        h?.tx.close();
        break;
      case "clone":
        if (h && !h.tx.isClosed) handles.push({ tx: h.tx.clone(), id: handles.length, seq: 0 });
        break;
      case "recv": {
        const c = o.abortable ? new AbortController() : undefined;
        if (c) controllers.push(c);
        const into = slot();
        pending.push(
          rx.recv({ signal: c?.signal }).then(
            (v) => {
              if (v !== undefined) into.push(v);
            },
            () => {},
          ),
        );
        break;
      }
      case "tryRecv": {
        const r = rx.tryRecv();
        if (r.ok) slot().push(r.value);
        break;
      }
      case "recvMany": {
        const into = slot();
        pending.push(
          rx.recvMany(o.limit).then(
            (vs) => into.push(...vs),
            () => {},
          ),
        );
        break;
      }
      case "rxClose":
        rx.close();
        break;
      case "flush":
        await tick();
        break;
    }
    checkBound();
  }

  // Wind down: close every handle; release permits (also those granted to waiting reserves meanwhile)
  // and take values until the channel reports closed.
  const releaseUnused = (): void => {
    for (const { permit, value } of permits) {
      if (!permit.isUsed) {
        permit.release();
        returned.add(value);
      }
    }
  };
  for (const h of handles) h.tx.close();
  for (let spins = 0; ; spins++) {
    if (spins > 10_000) throw new Error("the channel never reported closed");
    releaseUnused();
    const r = rx.tryRecv();
    if (r.ok) slot().push(r.value);
    else if (r.reason === "closed") break;
    else await tick();
  }
  await Promise.all(pending);
  const received = calls.flat();

  // No value lost or duplicated: every value created is received or given back, never both.
  expect(new Set(received).size).toBe(received.length);
  for (const v of received) expect(returned.has(v)).toBe(false);
  for (const v of created) expect(received.includes(v) || returned.has(v)).toBe(true);
  for (const v of accepted) expect(received.includes(v)).toBe(true);
  // Per-producer FIFO for send/trySend values.
  const last = new Map<string, string>();
  for (const v of received) {
    if (!orderChecked.has(v)) continue;
    const [p, seq] = v.split(":") as [string, string];
    const prev = last.get(p);
    if (prev !== undefined) expect(seq > prev).toBe(true);
    last.set(p, seq);
  }
}

describe("model check of random interleavings (fast-check)", () => {
  it("no value is lost or duplicated, per-producer order holds, the buffer never exceeds capacity, refused values come back", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(opArb, { minLength: 1, maxLength: 80 }),
        check,
      ),
      { numRuns: 200 },
    );
  }, 60_000);
});
