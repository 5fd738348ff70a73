/**
 * The h2 transport publishes the same diagnostics events as the grpc-js adapters (docs/observability.md):
 * a TracingChannel per side for each call, the cancel and shutdown events, and `metrics()` on every
 * call handle and handler context; bytes here are every message's serialized size. Each way a call
 * ends is read from a subscriber's side: OK, a handler's error, a client cancel, the deadline, a
 * shutdown, the connection lost.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { tracingChannel } from "node:diagnostics_channel";
import type { Receiver } from "grpc-mpsc";
import {
  type CallTrace,
  Code,
  callEvents,
  connect,
  createServer,
  GrpcError,
  type H2Client,
  type H2Server,
  type H2ServerContext,
} from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { rejection, sleep, within } from "../support/async.js";
import { hearCallsPerTest } from "../support/diagnostics.js";
import type { Msg } from "../support/grpc.js";
import { tcpProxy } from "../support/tcp-proxy.js";
import { H2TestService as TestService } from "../support/transport.js";

const hear = hearCallsPerTest();
/** The stops of what a test started (servers, clients, proxies, stores). */
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/** The trace of `side`'s one call once it ended (asyncEnd heard). */
async function ended(side: "server" | "client"): Promise<CallTrace> {
  await within(
    (async () => {
      while (!hear()[side].some((h) => h.event === "asyncEnd")) await sleep(5);
    })(),
    3000,
    `${side} asyncEnd`,
  );
  const traces = new Set(hear()[side].map((h) => h.trace));
  expect(traces.size).toBe(1);
  return [...traces][0] as CallTrace;
}

const events = (side: "server" | "client"): string[] => hear()[side].map((h) => h.event);

let chat: (
  requests: Receiver<Msg>,
  responses: { send(m: Msg): Promise<void> },
  ctx: H2ServerContext,
) => Promise<void>;

async function start(): Promise<{ server: H2Server; client: H2Client; port: number }> {
  const server = createServer().addService(TestService, {
    chat: (requests, responses, ctx) => chat(requests, responses, ctx),
    count: async (req, responses) => {
      for (let i = 0; i < req.n; i++) await responses.send({ n: i });
    },
    sum: async (requests) => {
      let n = 0;
      for await (const r of requests) n += r.n;
      return { n };
    },
  });
  stops.push(() => server.forceShutdown());
  const port = await server.listen(0);
  const client = connect(`127.0.0.1:${port}`);
  stops.push(() => client.close());
  return { server, client, port };
}

describe("h2 call traces", () => {
  it("OK: start, end, asyncStart, asyncEnd on each side, with the method, peer, code 0 and the counts", async () => {
    let serverMetrics: unknown;
    chat = async (requests, responses, ctx) => {
      for await (const r of requests) await responses.send({ n: r.n + 1 });
      serverMetrics = ctx.metrics();
    };
    const { client } = await start();
    const call = client.bidiCall(TestService.chat);
    await call.tx.send({ n: 1 });
    await call.tx.send({ n: 2 });
    call.tx.close();
    expect([await call.rx.recv(), await call.rx.recv(), await call.rx.recv()]).toEqual([
      { n: 2 },
      { n: 3 },
      undefined,
    ]);
    await call.status;
    const s = await ended("server");
    const c = await ended("client");
    expect(events("server")).toEqual(["start", "end", "asyncStart", "asyncEnd"]);
    expect(events("client")).toEqual(["start", "end", "asyncStart", "asyncEnd"]);
    for (const t of [s, c]) {
      expect(t).toMatchObject({
        method: "/test.Test/Chat",
        code: Code.OK,
        details: "",
        ending: "ok",
        error: undefined,
      });
      expect(t.peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(t.durationMs).toBeGreaterThanOrEqual(0);
    }
    const bytes = Buffer.byteLength(JSON.stringify({ n: 1 })) * 2;
    expect(s).toMatchObject({
      side: "server",
      messagesReceived: 2,
      messagesSent: 2,
      bytesReceived: bytes,
      bytesSent: bytes,
    });
    expect(c).toMatchObject({
      side: "client",
      messagesSent: 2,
      messagesReceived: 2,
      bytesSent: bytes,
      bytesReceived: bytes,
    });
    expect(serverMetrics).toEqual({
      messagesSent: 2,
      messagesReceived: 2,
      bytesSent: bytes,
      bytesReceived: bytes,
    });
    expect(call.metrics()).toEqual({
      messagesSent: 2,
      messagesReceived: 2,
      bytesSent: bytes,
      bytesReceived: bytes,
    });
  });

  it("a handler's error: the error event on both sides, ending 'error', the code and details", async () => {
    chat = async () => {
      throw new GrpcError(Code.FAILED_PRECONDITION, "not now");
    };
    const { client } = await start();
    const call = client.bidiCall(TestService.chat);
    await rejection(call.status);
    for (const side of ["server", "client"] as const) {
      const t = await ended(side);
      expect(events(side)).toContain("error");
      expect(t).toMatchObject({ code: Code.FAILED_PRECONDITION, details: "not now", ending: "error" });
      expect(t.error).toBeInstanceOf(GrpcError);
    }
    expect(hear().cancels).toEqual([]);
  });

  it("the client cancels: a cancel event on each side (local on the client), both traces 'cancelled'", async () => {
    chat = async (requests) => {
      for await (const _ of requests);
    };
    const { client } = await start();
    const call = client.bidiCall(TestService.chat);
    await call.tx.send({ n: 1 });
    await sleep(50);
    call.cancel();
    await rejection(call.status);
    expect((await ended("client")).ending).toBe("cancelled");
    expect((await ended("server")).ending).toBe("cancelled");
    const bySide = Object.fromEntries(hear().cancels.map((e) => [e.side, e]));
    expect(bySide.client).toMatchObject({ local: true, code: Code.CANCELLED, method: "/test.Test/Chat" });
    expect(bySide.server).toMatchObject({ local: false, code: Code.CANCELLED, ending: "cancelled" });
    expect(bySide.server?.peer).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("the deadline passes: both traces read 'deadline', the start carries the deadline", async () => {
    chat = async (requests) => {
      for await (const _ of requests);
    };
    const { client } = await start();
    const call = client.bidiCall(TestService.chat, { timeoutMs: 150 });
    expect(((await rejection(call.status)) as GrpcError).code).toBe(Code.DEADLINE_EXCEEDED);
    for (const side of ["server", "client"] as const) {
      const t = await ended(side);
      expect(t.ending).toBe("deadline");
      expect(t.deadline).toBeInstanceOf(Date);
    }
  });

  it("a server shutdown reaches the handler: the shutdown event and the server's trace 'shutdown'", async () => {
    chat = async (requests) => {
      for await (const _ of requests);
    };
    const { server, client } = await start();
    const call = client.bidiCall(TestService.chat);
    await call.tx.send({ n: 1 });
    await sleep(50);
    await server.shutdown(50);
    expect(((await rejection(call.status)) as GrpcError).code).toBe(Code.UNAVAILABLE);
    expect((await ended("server")).ending).toBe("shutdown");
    expect(hear().shutdowns).toHaveLength(1);
    expect(hear().shutdowns[0]).toMatchObject({ method: "/test.Test/Chat", code: Code.UNAVAILABLE });
    expect((await ended("client")).ending).toBe("error");
  });

  it("the connection is lost under a call: the client reads UNAVAILABLE, the server's trace and cancel event CANCELLED", async () => {
    chat = async (requests) => {
      for await (const _ of requests);
    };
    const { port } = await start();
    const proxy = await tcpProxy(port);
    stops.push(() => proxy.stop());
    const client = connect(`127.0.0.1:${proxy.port}`);
    stops.push(() => client.close());
    const call = client.bidiCall(TestService.chat);
    await call.tx.send({ n: 1 });
    await sleep(50);
    proxy.cut(); // both connections destroyed: no RST_STREAM, no status
    expect(((await rejection(call.status)) as GrpcError).code).toBe(Code.UNAVAILABLE);
    const serverSide = hear().server;
    await within(
      (async () => {
        while (!serverSide.some((h) => h.event === "asyncEnd")) await sleep(5);
      })(),
      3000,
      "the server's asyncEnd",
    );
    // Node closes a lost session's streams with code CANCEL, as a client's reset: the h2 server reads
    // either as CANCELLED (docs/h2.md), so the trace says "cancelled" or "lost".
    expect(["lost", "cancelled"]).toContain(serverSide.find((h) => h.event === "asyncEnd")?.trace.ending);
    expect(hear().cancels.find((e) => e.side === "server")).toMatchObject({
      code: Code.CANCELLED,
      local: false,
    });
  });

  it("runs the handler inside the start channel's stores (a span's AsyncLocalStorage context)", async () => {
    const store = new AsyncLocalStorage<string>();
    const start_ = tracingChannel(callEvents.serverCall).start;
    start_.bindStore(store, (trace) => `span of ${(trace as CallTrace).method}`);
    stops.push(() => start_.unbindStore(store));
    let seen: string | undefined;
    chat = async (requests) => {
      seen = store.getStore();
      for await (const _ of requests);
    };
    const { client } = await start();
    const call = client.bidiCall(TestService.chat);
    call.tx.close();
    await call.status;
    expect(seen).toBe("span of /test.Test/Chat");
  });

  it("unary-like calls count their one message: server streaming's request, client streaming's response", async () => {
    const { client } = await start();
    const count = client.serverStreamCall(TestService.count, { n: 3 });
    for await (const _ of count.rx);
    await count.status;
    expect(count.metrics()).toMatchObject({ messagesSent: 1, messagesReceived: 3 });
    const sum = client.clientStreamCall(TestService.sum);
    await sum.tx.send({ n: 4 });
    sum.tx.close();
    expect(await sum.response).toEqual({ n: 4 });
    await sum.status;
    expect(sum.metrics()).toMatchObject({ messagesSent: 1, messagesReceived: 1 });
  });
});
