/**
 * A soak on each transport (grpc-js with the adapters, grpc-mpsc/h2, server and client alike): random
 * streams with cancels and deadlines, checked for loss, duplication and reordering.
 */
import { SendError } from "grpc-mpsc";
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { within } from "../support/async.js";
import { type Msg, OWN_CONNECTION } from "../support/grpc.js";
import { type ClientUnderTest, TRANSPORTS } from "../support/transport.js";

/** Seconds per transport (the whole soak takes twice as long). */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 30);
const WORKERS = 16;

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with the same seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tally {
  streams: number;
  ok: number;
  failed: number;
  sent: number;
  echoed: number;
  givenBack: number;
}

/** One stream with a random plan; throws on any lost, duplicated or reordered message. */
async function oneStream(client: ClientUnderTest, rnd: () => number, tally: Tally): Promise<void> {
  const length = 1 + Math.floor(rnd() * 300);
  const roll = rnd();
  const cancelAt = roll < 0.15 ? Math.floor(rnd() * length) : -1;
  const deadline = roll >= 0.15 && roll < 0.3 ? Date.now() + 5 + Math.floor(rnd() * 50) : undefined;
  const call = client.chat({ deadline, requestCapacity: 8, responseCapacity: 8 });
  const accepted: number[] = [];
  const givenBack: number[] = [];
  const producer = (async () => {
    for (let n = 0; n < length; n++) {
      if (n === cancelAt) call.cancel();
      try {
        await call.tx.send({ n });
        accepted.push(n);
      } catch (err) {
        if (!(err instanceof SendError) || (err.value as Msg).n !== n)
          throw new Error(`send ${n} failed without its value: ${String(err)}`);
        givenBack.push(n);
      }
    }
    call.tx.close();
  })();
  const echoed: number[] = [];
  let failure: unknown;
  try {
    for await (const m of call.rx) echoed.push(m.n);
  } catch (err) {
    failure = err;
  }
  await within(producer, 10_000, "the producer");
  const { code, details } = await call.status.then(
    (s) => ({ code: s.code, details: s.details }),
    (e: { code: number; details: string }) => ({ code: e.code, details: e.details }),
  );
  // Ordering and no duplication: the echoes are exactly the first accepted values, in order.
  expect(echoed).toEqual(accepted.slice(0, echoed.length));
  // Nothing lost silently: every value was accepted or given back.
  expect(accepted.length + givenBack.length).toBe(length);
  if (failure === undefined) {
    expect(code).toBe(status.OK);
    expect(echoed).toEqual(accepted);
    expect(givenBack).toEqual([]);
    tally.ok++;
  } else {
    expect([status.CANCELLED, status.DEADLINE_EXCEEDED], `status ${code}: ${details}`).toContain(code);
    tally.failed++;
  }
  tally.streams++;
  tally.sent += length;
  tally.echoed += echoed.length;
  tally.givenBack += givenBack.length;
}

describe.each(TRANSPORTS)("soak on the $name server and client", (transport) => {
  it(
    `${SECONDS} s of mixed traffic with random cancels and deadlines: nothing lost, no unhandled rejection or error`,
    async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on("unhandledRejection", onUnhandled);
      process.on("uncaughtException", onUnhandled);
      const server = await transport.serve(
        {
          chat: async (requests, responses) => {
            for await (const m of requests) await responses.send(m);
          },
        },
        { requestCapacity: 8, responseCapacity: 8 },
      );
      const tally: Tally = { streams: 0, ok: 0, failed: 0, sent: 0, echoed: 0, givenBack: 0 };
      try {
        const until = Date.now() + SECONDS * 1000;
        await Promise.all(
          Array.from({ length: WORKERS }, async (_, w) => {
            const rnd = random(0x5eed + w);
            while (Date.now() < until) {
              // a fresh connection every 100 streams (OWN_CONNECTION: not grpc-js's shared subchannel): cancels are
              // HTTP/2 resets, which servers rate-limit per connection
              const client = transport.connect(`127.0.0.1:${server.port}`, { grpcJs: OWN_CONNECTION });
              try {
                for (let i = 0; i < 100 && Date.now() < until; i++)
                  await within(oneStream(client, rnd, tally), 20_000, "a stream");
              } finally {
                client.close();
              }
            }
          }),
        );
        await new Promise((r) => setTimeout(r, 200));
        console.log(`soak (${transport.name}): ${JSON.stringify(tally)}`);
        expect(tally.ok).toBeGreaterThan(0);
        expect(tally.failed).toBeGreaterThan(0);
        expect(unhandled).toEqual([]);
      } finally {
        process.off("unhandledRejection", onUnhandled);
        process.off("uncaughtException", onUnhandled);
        await server.close();
      }
    },
    (SECONDS + 60) * 1000,
  );
});
