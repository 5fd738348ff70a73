/**
 * A status too large for the client to accept: long details in a GrpcError (a validation report, a
 * forwarded downstream message) or large trailers. docs/guarantees.md: "Every way a call ends reaches every
 * handle"; no hang. The client below sets no deadline, as most streaming clients do not.
 */
import { status } from "@grpc/grpc-js";
import { bidiCall, GrpcError, serveBidi } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import type { Msg } from "../../support/grpc.js";
import { harnessPerTest } from "../../support/grpc.js";
import { orTimeout } from "./helpers.js";

const { start, client } = harnessPerTest();

describe("a status the client cannot take", () => {
  it("a handler throws a GrpcError with 100,000 characters of details: the client's status settles (error), it does not hang", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (requests) => {
        await requests.recv();
        throw new GrpcError(status.INVALID_ARGUMENT, "bad field; ".repeat(10_000));
      }),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 1 });
    // What happens: the server sends its trailers (75 KB of HEADERS+CONTINUATION with END_STREAM),
    // the grpc-js client drops them silently, and rx/status never settle (up to 66,000 characters work).
    const st = await orTimeout(outcome(call.status), 3000);
    call.cancel();
    expect(st).not.toBe("timeout");
    expect(st).toHaveProperty("error");
  });

  it("a handler sets 100 KB of ctx.trailers and returns: the client's status settles, it does not hang", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (requests, responses, ctx) => {
        await requests.recv();
        ctx.trailers.set("x-report", "r".repeat(100_000));
        await responses.send({ n: 1 });
      }),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 1 });
    call.tx.close();
    const st = await orTimeout(outcome(call.status), 3000);
    call.cancel();
    expect(st).not.toBe("timeout");
  });
});
