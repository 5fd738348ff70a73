/**
 * A status too large for the client to accept, on every pair of server and client transports: long
 * details in a GrpcError (a validation report, a forwarded downstream message) or large trailers.
 * docs/guarantees.md: "Every way a call ends reaches every handle"; no hang. The client below sets no
 * deadline, as most streaming clients do not.
 */
import { GrpcError, Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";
import { orTimeout } from "./helpers.js";

describe.each(PAIRS)("a status the client cannot take: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("a handler throws a GrpcError with 100,000 characters of details: the client's status settles (error), it does not hang", async () => {
    const client = await start({
      chat: async (requests) => {
        await requests.recv();
        throw new GrpcError(status.INVALID_ARGUMENT, "bad field; ".repeat(10_000));
      },
    });
    const call = client.chat();
    await call.tx.send({ n: 1 });
    // What happened once: the server sent its trailers (75 KB of HEADERS+CONTINUATION with
    // END_STREAM), the grpc-js client dropped them silently, and rx/status never settled.
    const st = await orTimeout(outcome(call.status), 3000);
    call.cancel();
    expect(st).not.toBe("timeout");
    expect(st).toHaveProperty("error");
  });

  it("a handler sets 100 KB of ctx.trailers and returns: the client's status settles, it does not hang", async () => {
    const client = await start({
      chat: async (requests, responses, ctx) => {
        await requests.recv();
        ctx.trailers.set("x-report", "r".repeat(100_000));
        await responses.send({ n: 1 });
      },
    });
    const call = client.chat();
    await call.tx.send({ n: 1 });
    call.tx.close();
    const st = await orTimeout(outcome(call.status), 3000);
    call.cancel();
    expect(st).not.toBe("timeout");
  });
});
