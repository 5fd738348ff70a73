/**
 * "OK early" (README Guarantees table): the handler returns while the client still has something
 * to send. Here the client has not read its responses yet, and the server wrote more of them than
 * rx and grpc-js's stream buffer hold (40 small ones). README row "OK early": tx "parked and later
 * sends: SendError", rx "ends", status "OK"; and "a gRPC send that resolved was handed to the live call".
 */
import { status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { bidiCall, serveBidi } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome } from "../grpc/edges.js";
import type { Msg } from "../grpc/fixture.js";
import { harnessPerTest } from "../grpc/harness.js";

const { start, client } = harnessPerTest();

describe("OK early while the client has not read rx yet", () => {
  it("the server sends 40 responses and returns OK; 300 ms later the client sends one more: that send is refused, rx yields all 40 and ends, status OK", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (_requests, responses) => {
        for (let n = 0; n < 40; n++) await responses.send({ n });
        // returns OK without reading the requests
      }),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 0 });
    await new Promise((r) => setTimeout(r, 300)); // the server's trailers arrived long ago
    const late = await outcome(call.tx.send({ n: 1 }));
    const got: number[] = [];
    const rx = await outcome(
      (async () => {
        for await (const m of call.rx) got.push(m.n);
      })(),
    );
    const st = await outcome(call.status);
    console.log(
      `late send: ${late.error === undefined ? "resolved" : "refused"}; got ${got.length}/40; status ${JSON.stringify(st.resolved?.code ?? (st.error as Error).message)}`,
    );

    // What happens: the late send resolves (300 ms after the call ended: grpc-js holds 'status'
    // back until rx is read, and the writer only watches 'status'); writing it after the server's end
    // fails, grpc-js turns the call into 13 INTERNAL "Write error: write after end" and drops 7 of
    // the 40 responses it had received. Without the late send: 40 responses and OK.
    expect(late.error).toBeInstanceOf(SendError);
    expect(rx.error).toBeUndefined();
    expect(got).toEqual(Array.from({ length: 40 }, (_, n) => n));
    expect(st).toMatchObject({ resolved: { code: status.OK } });
  });
});
