/**
 * Every private grpc-js field the adapters read (src/grpc/internals.ts) is where they look for it, on
 * real loopback calls of each streaming kind, behind an interceptor, on a cancel, on a status grpc-js
 * sends by itself, and on a real server. A release that moves one fails here, naming the field and the
 * grpc-js version, instead of quietly turning precise end reasons into "cancelled by the client".
 */
import { once } from "node:events";
import {
  type ChannelOptions,
  type ClientDuplexStream,
  InterceptingCall,
  Metadata,
  type Server,
  type ServerDuplexStream,
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServerReadableStream,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  clientCallMethod,
  http2ServerOfSession,
  http2ServersOf,
  http2StreamOfInterceptingCall,
  interceptingCallOf,
  isSessionDestroyed,
  nextInterceptingCall,
  rstCodeOf,
  sentStatusOf,
  serverCallHttp2Stream,
  sessionOf,
  sessionPing,
} from "../../src/grpc/internals.js";
import { outcome, within } from "../support/async.js";
import { grpcJsUnderTest, harnessPerTest, type Msg } from "../support/grpc.js";

const { version } = grpcJsUnderTest();
const h = harnessPerTest();

/** What `reader` reads from `from`, failing with the field's name, the reader and the grpc-js version. */
function found<A, T>(reader: (from: A) => T | undefined, from: A, what: string): T {
  const value = reader(from);
  expect(
    value,
    `grpc-js ${version}: ${what} is not where src/grpc/internals.ts's ${reader.name}() reads it (moved in this release?)`,
  ).toBeDefined();
  return value as T;
}

/** A call's server side, handed out while it is live; the test ends it. */
function capture<C>(): { handler: (call: C) => void; call: Promise<C> } {
  let resolve: (call: C) => void = () => {};
  const call = new Promise<C>((r) => {
    resolve = r;
  });
  return { handler: (c) => resolve(c), call };
}

/** The reads of a live server call, link by link (server without interceptors). */
function expectLiveCallReads(call: object): object {
  const intercepting = found(interceptingCallOf, call, "the server call's private `call`");
  const stream = found(
    http2StreamOfInterceptingCall,
    intercepting,
    "BaseServerInterceptingCall's private `stream` (a Node ServerHttp2Stream)",
  );
  expect(serverCallHttp2Stream(call), `grpc-js ${version}: serverCallHttp2Stream()`).toBe(stream);
  const session = found(sessionOf, stream, "the HTTP/2 stream's `session`");
  // isSessionDestroyed() reads a missing field as "not destroyed": check that the field is there.
  expect("destroyed" in session, `grpc-js ${version}: the HTTP/2 session's \`destroyed\``).toBe(true);
  expect(isSessionDestroyed(session), `grpc-js ${version}: the live session's \`destroyed\``).toBe(false);
  found(sessionPing, session, "the HTTP/2 session's `ping`");
  expect(rstCodeOf(stream), `grpc-js ${version}: a live stream's \`rstCode\` (no reset yet)`).toBe(0);
  expect(sentStatusOf(stream), `grpc-js ${version}: a live call's sent status`).toBeUndefined();
  return stream;
}

/** A live bidi call: its server side (captured by a raw handler), its client side and the server. */
async function openChat(serverOptions: ChannelOptions = {}): Promise<{
  call: ServerDuplexStream<Msg, Msg>;
  client: ClientDuplexStream<Msg, Msg>;
  server: Server;
}> {
  const chat = capture<ServerDuplexStream<Msg, Msg>>();
  const harness = await h.start({ chat: chat.handler }, serverOptions);
  const client = harness.client.chat(new Metadata(), {});
  client.on("error", () => {}); // its status is what the tests wait for
  client.write({ n: 1 });
  return { call: await within(chat.call, 5000, "the server call"), client, server: harness.server };
}

describe(`grpc-js ${version}: the private fields the adapters read`, () => {
  it("bidi: call.call -> stream, its session (destroyed, ping), and the server's http2Servers holding that session's server", async () => {
    const { call, client, server } = await openChat();
    const stream = expectLiveCallReads(call);
    const servers = http2ServersOf(server);
    expect(servers, `grpc-js ${version}: the grpc-js Server's private \`http2Servers\` Map`).toHaveLength(1);
    const http2Server = found(http2ServerOfSession, sessionOf(stream), "the HTTP/2 session's `server`");
    expect(servers, `grpc-js ${version}: the session's server among http2Servers`).toContain(http2Server);
    call.end();
    client.end();
    await within(outcome(once(client, "status")), 5000, "the client's status");
  });

  it("a client call's method: call.call -> nextCall ... -> call.method, with and without client interceptors", async () => {
    const { call, client } = await openChat();
    expect(found(clientCallMethod, client, "the client call's `call` ... `method`")).toBe("/test.Test/Chat");
    const intercepted = h
      .client()
      .chat(new Metadata(), { interceptors: [(options, next) => new InterceptingCall(next(options))] });
    intercepted.on("error", () => {});
    expect(found(clientCallMethod, intercepted, "`method` behind a client interceptor")).toBe(
      "/test.Test/Chat",
    );
    intercepted.cancel();
    call.end();
    client.end();
    await within(outcome(once(client, "status")), 5000, "the client's status");
  });

  it("server streaming: call.call -> stream, its session", async () => {
    const count = capture<ServerWritableStream<Msg, Msg>>();
    await h.start({ count: count.handler });
    const client = h.client().count({ n: 1 }, new Metadata(), {});
    client.on("error", () => {});
    client.on("data", () => {});
    const call = await within(count.call, 5000, "the server call");
    expectLiveCallReads(call);
    call.end();
    await within(outcome(once(client, "status")), 5000, "the client's status");
  });

  it("client streaming: call.call -> stream, its session", async () => {
    const sum = capture<ServerReadableStream<Msg, Msg>>();
    let respond: ((error: null, value: Msg) => void) | undefined;
    await h.start({
      sum: (call: ServerReadableStream<Msg, Msg>, callback: (error: null, value: Msg) => void) => {
        respond = callback;
        sum.handler(call);
      },
    });
    const done = new Promise<void>((resolve) => {
      const client = h.client().sum(new Metadata(), {}, () => resolve());
      client.on("error", () => {});
      client.write({ n: 1 });
      client.end();
    });
    const call = await within(sum.call, 5000, "the server call");
    expectLiveCallReads(call);
    respond?.(null, { n: 1 });
    await within(done, 5000, "the client's callback");
  });

  it("behind a server interceptor: call.call -> nextCall -> stream", async () => {
    const passThrough: ServerInterceptor = (_method, next) => new ServerInterceptingCall(next);
    const { call, client } = await openChat({ interceptors: [passThrough] });
    const outer = found(interceptingCallOf, call, "the server call's private `call`");
    expect(
      http2StreamOfInterceptingCall(outer),
      `grpc-js ${version}: an interceptor's call holds no stream itself`,
    ).toBeUndefined();
    const base = found(nextInterceptingCall, outer, "ServerInterceptingCall's private `nextCall`");
    const stream = found(
      http2StreamOfInterceptingCall,
      base,
      "BaseServerInterceptingCall's private `stream`, behind an interceptor",
    );
    expect(serverCallHttp2Stream(call), `grpc-js ${version}: serverCallHttp2Stream() through nextCall`).toBe(
      stream,
    );
    client.cancel();
    await within(outcome(once(call, "cancelled")), 5000, "the server's 'cancelled'");
  });

  it("a client's cancel: the stream's rstCode is 8 (CANCEL), its session is not destroyed", async () => {
    const { call, client } = await openChat();
    const stream = found(serverCallHttp2Stream, call, "the server call's HTTP/2 stream");
    const session = found(sessionOf, stream, "the HTTP/2 stream's `session`");
    const cancelled = once(call, "cancelled");
    client.cancel();
    await within(cancelled, 5000, "the server's 'cancelled'");
    expect(rstCodeOf(stream), `grpc-js ${version}: the HTTP/2 stream's \`rstCode\` after a cancel`).toBe(8);
    expect(
      isSessionDestroyed(session),
      `grpc-js ${version}: the session's \`destroyed\` after a cancel`,
    ).toBe(false);
  });

  it("a status grpc-js sends by itself (a message over the limit) is in sentTrailers or sentHeaders", async () => {
    const { call, client } = await openChat({ "grpc.max_receive_message_length": 64 });
    call.on("error", () => {});
    call.on("data", () => {}); // grpc-js reads (and checks the size) only while the call is read
    const stream = found(serverCallHttp2Stream, call, "the server call's HTTP/2 stream");
    const ended = Promise.race([once(call, "cancelled"), once(call, "close")]);
    client.write({ n: 2, text: "x".repeat(200) });
    await within(ended, 5000, "the server's 'cancelled'");
    const sent = found(
      sentStatusOf,
      stream,
      "the status on the HTTP/2 stream's `sentTrailers` / `sentHeaders`",
    );
    expect(sent.code, `grpc-js ${version}: the sent grpc-status`).toBe(status.RESOURCE_EXHAUSTED);
    expect(sent.details, `grpc-js ${version}: the sent grpc-message`).not.toBe("");
  });
});
