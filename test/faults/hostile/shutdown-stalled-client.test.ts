/**
 * `shutdownServer` with `abort` while a client does not read: the handler hears UNAVAILABLE at once,
 * but the status it sends queues behind the responses HTTP/2 flow control holds (trailers follow the
 * data on a stream), so the client hears nothing until the grace runs out and the server forces the
 * stream closed, which a grpc-js client reads as CANCELLED. docs/guarantees.md: "Where grpc-js, HTTP/2 or gRPC
 * set the edges", the stalled-client shutdown item.
 */
import { status } from "@grpc/grpc-js";
import { serverStreamCall, serveServerStream, shutdownServer } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome, watch, within } from "../../support/async.js";
import { harnessPerTest, type Msg } from "../../support/grpc.js";

const { start, client } = harnessPerTest();

describe("a shutdown while a client does not read", () => {
  it("the handler hears UNAVAILABLE at once; the stalled client hears CANCELLED when the grace runs out", async () => {
    const stopping = new AbortController();
    let handlerSaw: unknown;
    let finished: () => void = () => {};
    const handlerDone = new Promise<void>((r) => (finished = r));
    const h = await start({
      count: serveServerStream<Msg, Msg>(
        async (_req, responses, ctx) => {
          try {
            for (let n = 0; ; n++) await responses.send({ n, text: "z".repeat(16 * 1024) });
          } catch {
            handlerSaw = ctx.signal.reason;
          }
          finished();
        },
        { shutdownSignal: stopping.signal },
      ),
    });
    const call = serverStreamCall((r, md, o) => client().count(r, md, o), { n: 0 }, { responseCapacity: 1 });
    expect((await within(call.rx.recv(), 2000, "the first response"))?.n).toBe(0);
    await new Promise((r) => setTimeout(r, 200)); // the client stops reading: the windows fill
    const final = watch(call.status);
    const stopped = shutdownServer(h.server, { abort: stopping, graceMs: 300 });
    await within(handlerDone, 1000, "the handler");
    expect(handlerSaw).toMatchObject({ code: status.UNAVAILABLE });
    expect(final.settled).toBe(false); // the status is queued behind the unread responses
    expect(await within(stopped, 3000, "shutdownServer")).toEqual({ forced: true });
    const seen = await within(outcome(call.status), 2000, "the client's status");
    expect(seen.error).toMatchObject({ code: status.CANCELLED });
  });
});
