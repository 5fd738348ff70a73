/**
 * `shutdownServer(server, { graceMs })` without `abort` (it is optional): the grace runs out and the
 * server forces its streams closed. docs/guarantees.md's table: "server shutdown (shutdownServer) | ... server
 * requests: error UNAVAILABLE | ctx.signal: UNAVAILABLE"; ctx.signal's reason is "a GrpcError saying which".
 */
import { status } from "@grpc/grpc-js";
import { clientStreamCall, serveClientStream, shutdownServer } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome, within } from "../../support/async.js";
import { harnessPerTest, type Msg } from "../../support/grpc.js";

const { start, client } = harnessPerTest();

describe("a forced shutdown", () => {
  it("the grace runs out mid-upload: the handler's requests says the server shut down, not that the client cancelled", async () => {
    let seen: unknown;
    let finished: () => void = () => {};
    const done = new Promise<void>((r) => (finished = r));
    const h = await start({
      sum: serveClientStream<Msg, Msg>(async (requests) => {
        try {
          for await (const _ of requests);
        } catch (err) {
          seen = err;
        }
        finished();
        return { n: 0 };
      }),
    });
    const call = clientStreamCall<Msg, Msg>((md, o, cb) => client().sum(md, o, cb));
    const uploading = outcome(
      (async () => {
        for (;;) {
          await call.tx.send({ n: 1 });
          await new Promise((r) => setTimeout(r, 5));
        }
      })(),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(await shutdownServer(h.server, { graceMs: 100 })).toEqual({ forced: true });
    await within(done, 2000, "the handler");
    await uploading;
    // What happens: CANCELLED "cancelled by the client" (the forced reset carries CANCEL, which
    // serverEndReason reads as the client's).
    expect(seen).toMatchObject({ code: status.UNAVAILABLE });
  });
});
