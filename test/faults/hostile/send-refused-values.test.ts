/**
 * Values the call cannot carry, on every pair of server and client transports. docs/grpc.md and
 * docs/guarantees.md: "`tx.send` resolves once the request was handed to the live call",
 * "`responses.send(msg)` resolves once the message was handed to the live call", "No silent loss",
 * and anything that is not a GrpcError "goes to options.onError".
 */
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome, within } from "../../support/async.js";
import type { Msg } from "../../support/grpc.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";

describe.each(PAIRS)("values the call cannot carry: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("client tx.send(null): the send rejects (nothing was handed to the call), it does not resolve while the call is torn down", async () => {
    const client = await start({
      chat: async (requests) => {
        for await (const _ of requests);
      },
    });
    const call = client.chat();
    await call.tx.send({ n: 1 });
    // What happened once: write(null) threw inside CallWriter.take, the call was cancelled, and the send resolved.
    const sent = await outcome(call.tx.send(null as unknown as Msg));
    call.cancel();
    expect(sent.error).toBeDefined();
  });

  it("server responses.send(null): the send rejects, it does not resolve", async () => {
    let sent: { error?: unknown } | undefined;
    let done: () => void = () => {};
    const handled = new Promise<void>((r) => (done = r));
    const client = await start(
      {
        chat: async (requests, responses) => {
          await requests.recv();
          sent = await outcome(responses.send(null as unknown as Msg));
          done();
        },
      },
      { server: { onError: () => {} } },
    );
    const call = client.chat();
    await call.tx.send({ n: 1 });
    await within(handled, 2000, "the handler");
    call.cancel();
    expect(sent?.error).toBeDefined();
  });

  // grpc-js ends the call INTERNAL "Error serializing response" itself; the h2 server takes the error
  // for the handler's (UNKNOWN "internal error", reported to onError), as docs/guarantees.md says.
  it("server responses.send of a message its serializer refuses: the send rejects or onError learns why the call failed (the client gets INTERNAL from grpc-js, UNKNOWN from h2)", async () => {
    const reported: unknown[] = [];
    let sent: { error?: unknown } | undefined;
    const client = await start(
      {
        chat: async (requests, responses) => {
          await requests.recv();
          const circular: Msg & { self?: unknown } = { n: 1 };
          circular.self = circular;
          sent = await outcome(responses.send(circular));
          await new Promise((r) => setTimeout(r, 50));
        },
      },
      { server: { onError: (e) => reported.push(e) } },
    );
    const call = client.chat();
    await call.tx.send({ n: 1 });
    expect(await outcome(call.status)).toMatchObject({
      error: { code: pair.server.name === "grpc-js" ? status.INTERNAL : status.UNKNOWN },
    });
    await new Promise((r) => setTimeout(r, 100));
    // What happened once: the send resolved, grpc-js ended the call with INTERNAL "Error serializing
    // response", and onError was never called: the server's own bug left no trace on the server.
    expect(sent?.error !== undefined || reported.length > 0).toBe(true);
    if (pair.server.name === "h2") expect(reported).toEqual([expect.any(TypeError)]);
  });
});
