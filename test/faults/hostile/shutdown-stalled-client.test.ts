/**
 * A shutdown while a client does not read, on every pair of server and client transports.
 * grpc-js's `shutdownServer` with `abort`: the handler hears UNAVAILABLE at once, but the status it
 * sends queues behind the responses HTTP/2 flow control holds (trailers follow the data on a stream),
 * so the client hears nothing until the grace runs out and the server forces the stream closed, which
 * the client reads as CANCELLED. h2's `shutdown(graceMs)`: the handler hears UNAVAILABLE when the
 * grace runs out, and the stream it cannot end is reset then. docs/guarantees.md: "Where grpc-js,
 * HTTP/2 or gRPC set the edges", the stalled-client shutdown item.
 */
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome, watch, within } from "../../support/async.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";

describe.each(PAIRS)("a shutdown while a client does not read: $name", (pair) => {
  const { start, server } = transportsPerTest(pair);

  it("the handler hears UNAVAILABLE; the stalled client hears CANCELLED (h2 client of grpc-js: UNAVAILABLE) when the grace runs out, and the shutdown completes", async () => {
    let handlerSaw: unknown;
    let finished: () => void = () => {};
    const handlerDone = new Promise<void>((r) => (finished = r));
    const client = await start({
      count: async (_req, responses, ctx) => {
        try {
          for (let n = 0; ; n++) await responses.send({ n, text: "z".repeat(16 * 1024) });
        } catch {
          handlerSaw = ctx.signal.reason;
        }
        finished();
      },
    });
    const call = client.count({ n: 0 }, { responseCapacity: 1 });
    expect((await within(call.rx.recv(), 2000, "the first response"))?.n).toBe(0);
    await new Promise((r) => setTimeout(r, 200)); // the client stops reading: the windows fill
    const final = watch(call.status);
    const t0 = Date.now();
    const stopped = watch(server().shutdown({ graceMs: 300, abortHandlers: true }));
    await within(handlerDone, 2000, "the handler");
    const heard = Date.now() - t0;
    expect(handlerSaw).toMatchObject({ code: status.UNAVAILABLE });
    // grpc-js: at once (its shutdownSignal); h2: when the grace runs out.
    if (pair.server.name === "grpc-js") expect(heard).toBeLessThan(250);
    else expect(heard).toBeGreaterThanOrEqual(250);
    expect(final.settled).toBe(false); // the status is queued behind the unread responses
    await within(stopped.done, 3000, "the shutdown");
    const seen = await within(outcome(call.status), 2000, "the client's status");
    // A grpc-js client reads the forced reset of its stream as CANCELLED; an h2 client reads the
    // connection a grpc-js server destroys as lost (UNAVAILABLE), and h2's reset as CANCELLED.
    const code =
      pair.client.name === "h2" && pair.server.name === "grpc-js" ? status.UNAVAILABLE : status.CANCELLED;
    expect(seen.error).toMatchObject({ code });
  });
});
