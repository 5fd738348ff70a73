/**
 * "OK early" (docs/guarantees.md, the table): the handler returns OK while the client still has something
 * to send. grpc-js holds a server's OK status back until the client has read every response, so the
 * client's writer learns the end only once rx is read (the documented pattern: read rx first, or
 * while sending). A client that leaves rx unread and sends again writes into a stream the server has
 * closed, and grpc-js then reports INTERNAL instead of OK (docs/guarantees.md, "An OK status waits for `rx` to be read").
 */
import { status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { bidiCall, serveBidi } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import type { Msg } from "../../support/grpc.js";
import { harnessPerTest } from "../../support/grpc.js";

const { start, client } = harnessPerTest();

describe("OK early", () => {
  it("the server sends 40 responses and returns OK; the client reads rx, then sends once more: that send is refused, rx had all 40, status OK", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (_requests, responses) => {
        for (let n = 0; n < 40; n++) await responses.send({ n });
        // returns OK without reading the requests
      }),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
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

  it("left unread, rx holds the OK status back (grpc-js): the documented trap, pinned so that a change of grpc-js shows", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (_requests, responses) => {
        for (let n = 0; n < 40; n++) await responses.send({ n });
      }),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 0 });
    await new Promise((r) => setTimeout(r, 300)); // the server's trailers arrived long ago
    const late = await outcome(call.tx.send({ n: 1 }));
    const st = await outcome(call.status);
    // The late send was handed to grpc-js, which had not told anybody that the call was over; the
    // status then reads INTERNAL (grpc-js's write error) rather than the server's OK.
    expect(late.error).toBeUndefined();
    expect(st.error).toMatchObject({ code: status.INTERNAL });
  });
});
