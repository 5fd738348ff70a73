/**
 * A server streams and then ends with an error, and the client consumes more slowly than it
 * produces. README: rx "rejects with a GrpcError ... after the messages already received"; "No
 * silent loss"; the Guarantees table: "receivers reject after the messages already received".
 */
import { status } from "@grpc/grpc-js";
import { bidiCall, GrpcError, serveBidi, serverStreamCall, serveServerStream } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome } from "../grpc/edges.js";
import type { Msg } from "../grpc/fixture.js";
import { harnessPerTest } from "../grpc/harness.js";

const { start, client } = harnessPerTest();

describe("an error status after a stream, read by a slow consumer", () => {
  it("server streaming: 100 responses then UNAVAILABLE, the client takes 2 ms per message: it reads all 100, then rx rejects", async () => {
    let sent = 0;
    await start({
      count: serveServerStream<Msg, Msg>(async (_request, responses) => {
        for (let n = 0; n < 100; n++) {
          await responses.send({ n });
          sent++;
        }
        throw new GrpcError(status.UNAVAILABLE, "backend went away");
      }),
    });
    const call = serverStreamCall((r, md, o) => client().count(r, md, o), { n: 0 });
    const got: number[] = [];
    const rx = await outcome(
      (async () => {
        for await (const m of call.rx) {
          got.push(m.n);
          await new Promise((r) => setTimeout(r, 2));
        }
      })(),
    );
    console.log(
      `the handler's sends resolved: ${sent}; the client read ${got.length}, then: ${(rx.error as Error)?.message}`,
    );
    expect(rx.error).toMatchObject({ code: status.UNAVAILABLE });
    // What happens: about 40 of the 100, then the error: the rest vanish without a trace.
    expect(got).toEqual(Array.from({ length: 100 }, (_, n) => n));
  });

  it("bidi: the server sends 40 responses then fails with NOT_FOUND while the client has not read rx yet: rx yields all 40, then rejects", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (_requests, responses) => {
        for (let n = 0; n < 40; n++) await responses.send({ n });
        throw new GrpcError(status.NOT_FOUND, "no such job");
      }),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 0 });
    await new Promise((r) => setTimeout(r, 300));
    const got: number[] = [];
    const rx = await outcome(
      (async () => {
        for await (const m of call.rx) got.push(m.n);
      })(),
    );
    expect(rx.error).toMatchObject({ code: status.NOT_FOUND });
    // What happens: 33 of the 40, then NOT_FOUND.
    expect(got).toEqual(Array.from({ length: 40 }, (_, n) => n));
  });
});
