/**
 * "OK early" (docs/guarantees.md, the table): the handler returns OK while the client still has something
 * to send. grpc-js holds a server's OK status back until the client has read every response, so the
 * client's writer learns the end only once rx is read (the documented pattern: read rx first, or
 * while sending). A client that leaves rx unread and sends again writes into a stream the server has
 * closed, and grpc-js then reports INTERNAL instead of OK (docs/guarantees.md, "An OK status waits for `rx` to be read");
 * an h2 client's status waits for rx too, and is OK once rx is read. On every pair of transports.
 */
import { SendError } from "grpc-mpsc";
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome, watch } from "../../support/async.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";
import { orTimeout } from "./helpers.js";

describe.each(PAIRS)("OK early: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("the server sends 40 responses and returns OK; the client reads rx, then sends once more: that send is refused, rx had all 40, status OK", async () => {
    const client = await start({
      chat: async (_requests, responses) => {
        for (let n = 0; n < 40; n++) await responses.send({ n });
        // returns OK without reading the requests
      },
    });
    const call = client.chat();
    await call.tx.send({ n: 0 });
    const got: number[] = [];
    const rx = await outcome(
      (async () => {
        for await (const m of call.rx) got.push(m.n);
      })(),
    );
    const late = await outcome(call.tx.send({ n: 1 }));
    expect(rx.error).toBeUndefined();
    expect(got).toEqual(Array.from({ length: 40 }, (_, n) => n));
    expect(late.error).toBeInstanceOf(SendError);
    expect(await outcome(call.status)).toMatchObject({ resolved: { code: status.OK } });
  });

  it("left unread, rx holds the OK status back: a grpc-js client then reads INTERNAL, an h2 client OK once rx is read (the documented trap, pinned so that a change shows)", async () => {
    const client = await start({
      chat: async (_requests, responses) => {
        for (let n = 0; n < 40; n++) await responses.send({ n });
      },
    });
    const call = client.chat();
    await call.tx.send({ n: 0 });
    await new Promise((r) => setTimeout(r, 300)); // the server's trailers arrived long ago
    const late = await orTimeout(outcome(call.tx.send({ n: 1 })), 3000);
    // The late send was handed to the transport, which had not told anybody that the call was over.
    expect(late).toEqual({ resolved: undefined });
    if (pair.client.name === "grpc-js") {
      // The status then reads INTERNAL (grpc-js's write error) rather than the server's OK.
      expect(await orTimeout(outcome(call.status), 3000)).toMatchObject({ error: { code: status.INTERNAL } });
    } else {
      // The h2 client applies the trailers once every message before them was read: the status waits for rx.
      const final = watch(call.status);
      await new Promise((r) => setTimeout(r, 200));
      expect(final.settled).toBe(false);
      const got: number[] = [];
      for await (const m of call.rx) got.push(m.n);
      expect(got).toEqual(Array.from({ length: 40 }, (_, n) => n));
      expect(await orTimeout(outcome(call.status), 3000)).toMatchObject({ resolved: { code: status.OK } });
    }
  });
});
