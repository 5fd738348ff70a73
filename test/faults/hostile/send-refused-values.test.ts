/**
 * Values the call cannot carry. docs/grpc.md and docs/guarantees.md: "`tx.send` resolves once the request was handed to the
 * live call", "`responses.send(msg)` resolves once the message was handed to the live call", "No
 * silent loss", and anything that is not a GrpcError "goes to options.onError".
 */
import { status } from "@grpc/grpc-js";
import { bidiCall, serveBidi } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome, within } from "../../support/async.js";
import { harnessPerTest, type Msg } from "../../support/grpc.js";

const { start, client } = harnessPerTest();

describe("values the call cannot carry", () => {
  it("client tx.send(null): the send rejects (nothing was handed to the call), it does not resolve while the call is torn down", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (requests) => {
        for await (const _ of requests);
      }),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 1 });
    // What happens: write(null) throws inside CallWriter.take, the call is cancelled, and the send resolves.
    const sent = await outcome(call.tx.send(null as unknown as Msg));
    call.cancel();
    expect(sent.error).toBeDefined();
  });

  it("server responses.send(null): the send rejects, it does not resolve", async () => {
    let sent: { error?: unknown } | undefined;
    let done: () => void = () => {};
    const handled = new Promise<void>((r) => (done = r));
    await start({
      chat: serveBidi<Msg, Msg>(
        async (requests, responses) => {
          await requests.recv();
          sent = await outcome(responses.send(null as unknown as Msg));
          done();
        },
        { onError: () => {} },
      ),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 1 });
    await within(handled, 2000, "the handler");
    call.cancel();
    expect(sent?.error).toBeDefined();
  });

  it("server responses.send of a message its serializer refuses: the send rejects or onError learns why the call failed (the client gets INTERNAL)", async () => {
    const reported: unknown[] = [];
    let sent: { error?: unknown } | undefined;
    await start({
      chat: serveBidi<Msg, Msg>(
        async (requests, responses) => {
          await requests.recv();
          const circular: Msg & { self?: unknown } = { n: 1 };
          circular.self = circular;
          sent = await outcome(responses.send(circular));
          await new Promise((r) => setTimeout(r, 50));
        },
        { onError: (e) => reported.push(e) },
      ),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 1 });
    expect(await outcome(call.status)).toMatchObject({ error: { code: status.INTERNAL } });
    await new Promise((r) => setTimeout(r, 100));
    // What happens: the send resolved, grpc-js ended the call with INTERNAL "Error serializing
    // response", and onError was never called: the server's own bug leaves no trace on the server.
    expect(sent?.error !== undefined || reported.length > 0).toBe(true);
  });
});
