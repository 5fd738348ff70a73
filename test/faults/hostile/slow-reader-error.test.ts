/**
 * A server streams and then ends with an error, and the client consumes more slowly than it
 * produces. gRPC lets a library drop the messages it holds but has not delivered when an error
 * status arrives (grpc/grpc#426), and grpc-js does: with a bounded rx, the messages still in
 * grpc-js's hands (at most one HTTP/2 flow-control window) are dropped, and rx rejects after the
 * ones it had taken, in order (docs/guarantees.md). These tests pin that, on every pair of server and
 * client transports: a prefix, in order, then the error; never a gap, never a hang.
 */
import { GrpcError, Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";

describe.each(PAIRS)("an error status after a stream, read by a slow consumer: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("server streaming: 100 responses then UNAVAILABLE, the client takes 2 ms per message: rx yields a prefix in order, then rejects", async () => {
    const client = await start({
      count: async (_request, responses) => {
        for (let n = 0; n < 100; n++) {
          await responses.send({ n });
        }
        throw new GrpcError(status.UNAVAILABLE, "backend went away");
      },
    });
    const call = client.count({ n: 0 });
    const got: number[] = [];
    const rx = await outcome(
      (async () => {
        for await (const m of call.rx) {
          got.push(m.n);
          await new Promise((r) => setTimeout(r, 2));
        }
      })(),
    );
    expect(rx.error).toMatchObject({ code: status.UNAVAILABLE });
    expect(got.length).toBeGreaterThan(16); // rx (16) and grpc-js's own buffer (16) at least
    expect(got).toEqual(Array.from({ length: got.length }, (_, n) => n));
  });

  it("bidi: the server sends 40 responses then fails with NOT_FOUND while the client has not read rx yet: a prefix in order, then the error", async () => {
    const client = await start({
      chat: async (_requests, responses) => {
        for (let n = 0; n < 40; n++) await responses.send({ n });
        throw new GrpcError(status.NOT_FOUND, "no such job");
      },
    });
    const call = client.chat();
    await call.tx.send({ n: 0 });
    await new Promise((r) => setTimeout(r, 300));
    const got: number[] = [];
    const rx = await outcome(
      (async () => {
        for await (const m of call.rx) got.push(m.n);
      })(),
    );
    expect(rx.error).toMatchObject({ code: status.NOT_FOUND });
    expect(got.length).toBeGreaterThan(16);
    expect(got).toEqual(Array.from({ length: got.length }, (_, n) => n));
  });
});
