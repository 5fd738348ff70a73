/**
 * Backpressure end to end, on every pair of server and client transports (grpc-js with the adapters,
 * grpc-mpsc/h2): a side that stops reading stops the other side's sends after a bounded number, and
 * nothing is lost when it reads again.
 */
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { sleep, within } from "../support/async.js";
import { PAIRS, transportsPerTest } from "../support/transport.js";

/** Sends until a send has not resolved for `quietMs`; returns how many resolved, and the producer. */
async function sendUntilStalled(
  send: (n: number) => Promise<void>,
  total: number,
  quietMs: number,
): Promise<{ accepted: () => number; producer: Promise<void> }> {
  let accepted = 0;
  const producer = (async () => {
    for (let i = 0; i < total; i++) {
      await send(i);
      accepted++;
    }
  })();
  let last = -1;
  while (accepted !== last) {
    last = accepted;
    await sleep(quietMs);
  }
  return { accepted: () => accepted, producer };
}

const KIB = "k".repeat(1024);

describe.each(PAIRS)("end-to-end backpressure: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("a server that does not read stalls the client's send after a bounded number of messages; nothing is lost when it reads again", async () => {
    let go: () => void = () => {};
    const reading = new Promise<void>((r) => (go = r));
    const received: number[] = [];
    const client = await start(
      {
        chat: async (requests, responses) => {
          await reading;
          for await (const m of requests) received.push(m.n);
          await responses.send({ n: received.length });
        },
      },
      { server: { requestCapacity: 8 } },
    );
    const total = 5000; // 5 MiB: far more than any buffer on the way
    const call = client.chat({ requestCapacity: 8 });
    const { accepted, producer } = await sendUntilStalled((n) => call.tx.send({ n, text: KIB }), total, 300);
    const stalledAt = accepted();
    // channel capacities (8 + 8) + grpc-js object-mode buffers (16 + 16) + HTTP/2 stream and connection
    // windows (64 KiB each by default, ~64 messages of 1 KiB each) + socket buffers: a few hundred.
    expect(stalledAt).toBeGreaterThan(0);
    expect(stalledAt).toBeLessThan(1500);
    go();
    await within(producer, 30_000, "the producer after reading resumed");
    call.tx.close();
    const answer = await within(call.rx.recv(), 10_000, "the answer");
    expect(answer?.n).toBe(total);
    expect(received).toEqual(Array.from({ length: total }, (_, i) => i));
    expect((await call.status).code).toBe(status.OK);
  });

  it("a client that does not read stalls the handler's send after a bounded number of responses, then resumes with nothing lost", async () => {
    const total = 5000;
    let sent = 0;
    const client = await start(
      {
        chat: async (_requests, responses) => {
          for (let i = 0; i < total; i++) {
            await responses.send({ n: i, text: KIB });
            sent++;
          }
        },
      },
      { server: { responseCapacity: 8 } },
    );
    const call = client.chat({ responseCapacity: 8 });
    let last = -1;
    while (sent !== last) {
      last = sent;
      await sleep(300);
    }
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(1500);
    call.tx.close();
    let expected = 0;
    for await (const m of call.rx) {
      expect(m.n).toBe(expected++);
    }
    expect(expected).toBe(total);
    expect((await call.status).code).toBe(status.OK);
  });
});

describe.each(PAIRS)("large messages in bursts: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  // Node holds what one write hands an HTTP/2 stream in the session's memory until it is sent, and
  // past `maxSessionMemory` (10 MB by default) resets the session's streams with ENHANCE_YOUR_CALM:
  // a writer that hands a burst of queued messages over as one buffer fails here.
  it("20 messages of 1 MiB sent without waiting for the echo come back whole and in order, then OK (Node's 10 MB session memory)", async () => {
    const client = await start(
      {
        chat: async (requests, responses) => {
          for await (const m of requests) await responses.send(m);
        },
      },
      { server: { requestCapacity: 16, responseCapacity: 16 } },
    );
    const text = "m".repeat(1 << 20);
    const call = client.chat({ requestCapacity: 16, responseCapacity: 16 });
    const producer = (async () => {
      for (let n = 0; n < 20; n++) await call.tx.send({ n, text });
      call.tx.close();
    })();
    const got: number[] = [];
    const reading = (async () => {
      for await (const m of call.rx) {
        expect(m.text).toHaveLength(text.length);
        got.push(m.n);
      }
    })();
    await within(Promise.all([producer, reading]), 60_000, "the 20 MiB echo");
    expect(got).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect((await call.status).code).toBe(status.OK);
  }, 90_000);
});

// The long echo runs once per transport, both ends alike: on a mixed pair it would only add time
// (a grpc-js end caps it at ~17k msg/s), not a different path through either end.
describe.each(PAIRS.filter((p) => p.server === p.client))("a long stream: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("a 100,000-message bidi echo completes, in order (the adapters stay linear in stream length)", async () => {
    const client = await start({
      chat: async (requests, responses) => {
        for await (const m of requests) await responses.send(m);
      },
    });
    const total = 100_000;
    const call = client.chat();
    const producer = (async () => {
      for (let i = 0; i < total; i++) await call.tx.send({ n: i });
      call.tx.close();
    })();
    let expected = 0;
    for await (const m of call.rx) {
      if (m.n !== expected) throw new Error(`got ${m.n}, expected ${expected}`);
      expected++;
    }
    await producer;
    expect(expected).toBe(total);
    expect((await call.status).code).toBe(status.OK);
  }, 90_000);
});
