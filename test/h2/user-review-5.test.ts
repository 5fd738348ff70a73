/**
 * What the new user's fifth review ran into on the h2 client and server, besides docs.
 *
 * A call made with the wrong kind of method failed late or not at all: `unaryCall` of a
 * server-streaming method read INTERNAL "the server sent more than one response" once a second
 * response came, `serverStreamCall` of a unary method "worked", and a whole service given as the
 * method ended UNIMPLEMENTED "the server does not serve /". Each now throws a TypeError at the call
 * that names the method and the call to use, before anything goes on the wire.
 *
 * `addService` given one method of the service, or a generated client class, said "Expected `handler
 * path` to be a function" or "Expected `handler service` to be a function"; it now says what it was
 * given. A handler missing for a later method left the earlier ones served, so the corrected call
 * then failed "a path not served yet"; a refused service now adds none of its methods.
 *
 * A message over a size limit read the same whichever end's limit it was ("received a message of N
 * bytes, over the limit of M" for both receive limits): each now names whose limit refused it.
 *
 * (The TLS findings, a server `tls` without a certificate and a TLS client of a cleartext server,
 * are in `tls.test.ts`; the handler's own error aborting its `ctx.signal` in `../grpc/errors.test.ts`.)
 */
import {
  Code,
  connect,
  createServer,
  type H2Client,
  type H2Server,
  type MethodDefinition,
} from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { within } from "../support/async.js";
import type { Msg } from "../support/grpc.js";
import { H2TestService as TestService } from "../support/transport.js";

let server: H2Server | undefined;
let client: H2Client | undefined;
afterEach(() => {
  client?.close();
  server?.forceShutdown();
  client = server = undefined;
});

describe("a call of the wrong kind of method", () => {
  it("throws a TypeError naming the method and the call to use, and nothing reaches the server", async () => {
    let reached = 0;
    server = createServer().addService(TestService, {
      chat: async () => {
        reached++;
      },
      count: async () => {
        reached++;
      },
      sum: async () => {
        reached++;
        return { n: 0 };
      },
    });
    client = connect(`127.0.0.1:${await server.listen(0, "127.0.0.1")}`);
    const c = client;
    const unary = { ...TestService.count, responseStream: false } as MethodDefinition<Msg, Msg>;
    const cases: [() => unknown, string][] = [
      [
        () => c.unaryCall(TestService.count, { n: 1 }),
        "unaryCall: /test.Test/Count is a server-streaming method: call it with serverStreamCall",
      ],
      [
        () => c.serverStreamCall(unary, { n: 1 }),
        "serverStreamCall: /test.Test/Count is a unary method: call it with unaryCall",
      ],
      [
        () => c.bidiCall(TestService.sum),
        "bidiCall: /test.Test/Sum is a client-streaming method: call it with clientStreamCall",
      ],
      [
        () => c.clientStreamCall(TestService.chat),
        "clientStreamCall: /test.Test/Chat is a bidirectional-streaming method: call it with bidiCall",
      ],
    ];
    for (const [call, message] of cases) expect(call).toThrow(new TypeError(message));
    for (const notAMethod of [
      TestService,
      undefined,
      { path: "/x.Y/Z" },
      { ...TestService.chat, path: "Chat" },
    ]) {
      expect(() => c.bidiCall(notAMethod as unknown as typeof TestService.chat)).toThrow(
        /^Expected `method` to be a method definition such as MessageServiceService\.streamMessages, got /,
      );
    }
    // The right kind still goes through, on the same client.
    const ok = c.clientStreamCall(TestService.sum);
    ok.tx.close();
    expect(await within(ok.response, 5000, "sum")).toEqual({ n: 0 });
    expect(reached).toBe(1);
  });
});

describe("addService given the wrong thing", () => {
  const handlers = {
    chat: async () => {},
    count: async () => {},
    sum: async () => ({ n: 0 }),
  };
  const expected = "a service definition, its methods by name (such as ts-proto's MessageServiceService)";

  it("says what it was given: one method, a client class, a value that is no method, not an object", () => {
    const s = createServer();
    const add = (service: unknown) => () => s.addService(service as typeof TestService, handlers);
    expect(add(TestService.chat)).toThrow(
      new TypeError(
        `Expected \`service\` to be ${expected}, got one method (/test.Test/Chat): pass the service that holds it`,
      ),
    );
    expect(add(class FakeClient {})).toThrow(
      new TypeError(`Expected \`service\` to be ${expected}, got a function: a generated client class?`),
    );
    expect(add({ ...TestService, extra: 1 })).toThrow(
      new TypeError(
        `Expected \`service\` to be ${expected}: its \`extra\` is not a method definition (a path and serializers)`,
      ),
    );
    expect(add(null)).toThrow(TypeError);
  });

  it("a refused service adds none of its methods: the corrected call then serves them all", async () => {
    server = createServer();
    const { sum: _, ...withoutSum } = handlers;
    expect(() => server?.addService(TestService, withoutSum as typeof handlers)).toThrow(
      "Expected `handler sum` to be a function, got undefined",
    );
    server.addService(TestService, handlers);
    client = connect(`127.0.0.1:${await server.listen(0, "127.0.0.1")}`);
    const call = client.bidiCall(TestService.chat);
    call.tx.close();
    expect((await within(call.status, 5000, "chat")).code).toBe(0);
  });
});

describe("a message over a size limit names whose limit it was", () => {
  const big = { n: 1, text: "x".repeat(2048) } as Msg;
  const small = { n: 1 };
  // Whose limit, the options of each end, the request sent (the handler answers every one with `big`).
  const cases = [
    ["the server's receive limit", { maxReceiveMessageLength: 1024 }, {}, big],
    ["this client's receive limit", {}, { maxReceiveMessageLength: 1024 }, small],
    ["the server's send limit", { maxSendMessageLength: 1024 }, {}, small],
    ["this client's send limit", {}, { maxSendMessageLength: 1024 }, big],
  ] as const;
  for (const [whose, serverOptions, clientOptions, request] of cases) {
    it(`${whose}: RESOURCE_EXHAUSTED, saying so`, async () => {
      server = createServer(serverOptions).addService(TestService, {
        chat: async (requests, responses) => {
          for await (const _ of requests) await responses.send(big);
        },
        count: async () => {},
        sum: async () => ({ n: 0 }),
      });
      client = connect(`127.0.0.1:${await server.listen(0, "127.0.0.1")}`, clientOptions);
      const call = client.bidiCall(TestService.chat, { timeoutMs: 5000 });
      await call.tx.send(request);
      await expect(within(call.status, 5000, "status")).rejects.toMatchObject({
        code: Code.RESOURCE_EXHAUSTED,
        details: expect.stringMatching(new RegExp(`bytes,? (is )?over ${whose} of 1024$`)),
      });
    });
  }
});
