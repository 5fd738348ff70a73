/**
 * A sender handle is garbage-collected unclosed while sends it started are still parked (sends
 * fired without awaiting, waiting for flow control). The docs (TSDoc, docs/guarantees.md): ClientStreamCall.tx "Collected unclosed,
 * it half-closes the call as close() does" (close() lets started sends complete first); "a
 * collected clone counts as closed"; "a gRPC send that resolved was handed to the live call"; no hang.
 * On every pair of server and client transports.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import type { Msg } from "../../support/grpc.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";
import { orTimeout } from "./helpers.js";

const big = "x".repeat(64 * 1024); // a few fill the HTTP/2 window: later sends park

async function collect(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    globalThis.gc?.();
    await nextTurn();
  }
}

describe.each(PAIRS)("a sender collected while its sends are parked: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("client streaming: tx dropped unclosed with 20 sends parked: every send that resolved reaches the server, and the call ends", async () => {
    const received: number[] = [];
    const client = await start({
      sum: async (requests) => {
        await new Promise((r) => setTimeout(r, 300)); // a slow start: the client's sends park
        let total = 0;
        for await (const r of requests) {
          received.push(r.n);
          total += r.n;
        }
        return { n: total };
      },
    });
    const results: string[] = [];
    const collected = new FinalizationRegistry<string>((what) => results.push(what));
    const response = ((): Promise<Msg> => {
      const call = client.sum({ requestCapacity: 2 });
      collected.register(call.tx, "tx collected");
      for (let n = 1; n <= 20; n++) {
        call.tx.send({ n, text: big }).then(
          () => results.push("resolved"),
          () => results.push("refused"),
        );
      }
      return call.response; // tx is dropped without close()
    })();
    await collect();
    expect(results).toContain("tx collected");
    const res = await orTimeout(outcome(response), 3000);
    const resolved = results.filter((r) => r === "resolved").length;
    console.log(
      `sends resolved: ${resolved}/20; the server received ${received.length}; response: ${JSON.stringify(res)}`,
    );
    // What happened once: all 20 sends resolve, the server receives 2, and the call never ends (the
    // half-close went out before the parked values, which were then written after end()).
    expect(res).not.toBe("timeout");
    expect(received.length).toBe(resolved);
  });

  it("server streaming: a responses clone dropped unclosed with 20 sends parked: the client receives every message whose send resolved, and the call ends", async () => {
    const results: string[] = [];
    const collected = new FinalizationRegistry<string>((what) => results.push(what));
    const client = await start(
      {
        count: async (_request, responses) => {
          const clone = responses.clone();
          collected.register(clone, "clone collected");
          for (let n = 1; n <= 20; n++) {
            clone.send({ n, text: big }).then(
              () => results.push("resolved"),
              () => results.push("refused"),
            );
          }
          // returns; the clone is dropped unclosed with its sends parked
        },
      },
      { server: { responseCapacity: 2 } },
    );
    const call = client.count({ n: 0 }, { responseCapacity: 1 });
    await collect();
    expect(results).toContain("clone collected");
    await new Promise((r) => setTimeout(r, 200));
    const got: number[] = [];
    const rx = await orTimeout(
      outcome(
        (async () => {
          for await (const m of call.rx) got.push(m.n);
        })(),
      ),
      3000,
    );
    call.cancel();
    const resolved = results.filter((r) => r === "resolved").length;
    console.log(
      `server sends resolved: ${resolved}/20; the client received ${got.length}; rx: ${JSON.stringify(rx)}`,
    );
    // What happened once: all 20 sends resolve, the client receives 2, and rx never ends.
    expect(rx).not.toBe("timeout");
    expect(got.length).toBe(resolved);
  });
});
