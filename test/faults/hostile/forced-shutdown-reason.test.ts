/**
 * A shutdown whose grace runs out mid-call, on every pair of server and client transports: grpc-js's
 * `shutdownServer(server, { graceMs })` without `abort` (it is optional), h2's `shutdown(graceMs)`.
 * docs/guarantees.md's table: "server shutdown | ... server requests: error UNAVAILABLE | ctx.signal:
 * UNAVAILABLE"; ctx.signal's reason is "a GrpcError saying which".
 */
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome, within } from "../../support/async.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";

describe.each(PAIRS)("a forced shutdown: $name", (pair) => {
  const { start, server } = transportsPerTest(pair);

  it("the grace runs out mid-upload: the handler's requests says the server shut down, not that the client cancelled", async () => {
    let seen: unknown;
    let finished: () => void = () => {};
    const done = new Promise<void>((r) => (finished = r));
    const client = await start({
      sum: async (requests) => {
        try {
          for await (const _ of requests);
        } catch (err) {
          seen = err;
        }
        finished();
        return { n: 0 };
      },
    });
    const call = client.sum();
    const uploading = outcome(
      (async () => {
        for (;;) {
          await call.tx.send({ n: 1 });
          await new Promise((r) => setTimeout(r, 5));
        }
      })(),
    );
    await new Promise((r) => setTimeout(r, 100));
    await within(server().shutdown({ graceMs: 100 }), 5000, "the shutdown");
    await within(done, 2000, "the handler");
    await within(uploading, 2000, "the upload");
    // What happened once: CANCELLED "cancelled by the client" (the forced reset carries CANCEL, which
    // serverEndReason read as the client's).
    expect(seen).toMatchObject({ code: status.UNAVAILABLE });
  });
});
