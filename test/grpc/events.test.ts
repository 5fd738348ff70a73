import { AsyncLocalStorage } from "node:async_hooks";
import { channel as namedChannel } from "node:diagnostics_channel";
import { credentials, Server, ServerCredentials, status } from "@grpc/grpc-js";
import { broadcast } from "grpc-mpsc";
import {
  bidiCall,
  type CallTrace,
  callEvents,
  clientStreamCall,
  GrpcError,
  type SlowClientEvent,
  sendBroadcast,
  serveBidi,
  serveClientStream,
  serverStreamCall,
  serveServerStream,
  shutdownServer,
} from "grpc-mpsc/grpc";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { sleep, within } from "../support/async.js";
import { forgetHeard, hearCallsPerTest } from "../support/diagnostics.js";
import { killAll, nextMessage, spawnFixture } from "../support/fixtures.js";
import { harnessPerTest, type Msg, start, TestClientCtor } from "../support/grpc.js";

const harness = harnessPerTest();
afterAll(killAll);

const hear = hearCallsPerTest();
/** The stops of what a test subscribed or bound beyond the call events. */
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/** Waits until `side` heard its call's asyncEnd; returns the trace (one object through every event). */
async function ended(side: "server" | "client"): Promise<CallTrace> {
  const list = hear()[side];
  for (let i = 0; i < 400 && !list.some((e) => e.event === "asyncEnd"); i++) await sleep(5);
  const last = list.find((e) => e.event === "asyncEnd");
  if (last === undefined)
    throw new Error(`no asyncEnd on the ${side} side: ${JSON.stringify(list.map((e) => e.event))}`);
  for (const e of list) expect(e.trace).toBe(last.trace);
  return last.trace;
}

/** The event names one side heard, in order. */
const events = (side: "server" | "client"): string[] => hear()[side].map((e) => e.event);

const CHAT = "/test.Test/Chat";

describe("call events: each way a call ends, as both sides' subscribers see it", () => {
  it("OK: start (method, peer, no deadline), end, then asyncStart/asyncEnd with code 0, counts and duration", async () => {
    await harness.start({
      chat: serveBidi<Msg, Msg>(async (requests, responses) => {
        for await (const m of requests) await responses.send({ n: m.n * 10 });
      }),
    });
    const { tx, rx, status: final } = bidiCall((md, o) => harness.client().chat(md, o));
    await tx.send({ n: 1 });
    await tx.send({ n: 2 });
    tx.close();
    const got: number[] = [];
    for await (const m of rx) got.push(m.n);
    await final;
    expect(got).toEqual([10, 20]);
    const server = await ended("server");
    const client = await ended("client");
    expect(events("server")).toEqual(["start", "end", "asyncStart", "asyncEnd"]);
    expect(events("client")).toEqual(["start", "end", "asyncStart", "asyncEnd"]);
    expect(server).toMatchObject({
      side: "server",
      method: CHAT,
      deadline: undefined,
      code: status.OK,
      details: "",
      ending: "ok",
      messagesReceived: 2,
      messagesSent: 2,
      error: undefined,
    });
    expect(server.peer).toMatch(/127\.0\.0\.1/);
    expect(client).toMatchObject({
      side: "client",
      method: CHAT,
      code: 0,
      ending: "ok",
      messagesSent: 2,
      messagesReceived: 2,
    });
    expect(client.durationMs).toBeGreaterThan(0);
    expect(client.durationMs).toBeLessThan(5000);
    expect(server.durationMs).toBeGreaterThan(0);
    expect(hear().cancels).toEqual([]);
  });

  it("OK early (the handler returns before the client half-closes): both sides read 'ok'", async () => {
    await harness.start({
      chat: serveBidi<Msg, Msg>(async (requests, responses) => {
        const first = await requests.recv();
        await responses.send({ n: first?.n ?? -1 });
      }),
    });
    const { tx, rx, status: final } = bidiCall((md, o) => harness.client().chat(md, o));
    await tx.send({ n: 7 });
    expect((await rx.recv())?.n).toBe(7);
    await final;
    const server = await ended("server");
    const client = await ended("client");
    expect(server).toMatchObject({ code: 0, ending: "ok", messagesReceived: 1, messagesSent: 1 });
    expect(client).toMatchObject({ code: 0, ending: "ok", messagesSent: 1, messagesReceived: 1 });
    tx.close();
  });

  it("a handler's error: the error event carries it on both sides, ending 'error'", async () => {
    await harness.start({
      chat: serveBidi<Msg, Msg>(async (requests) => {
        await requests.recv();
        throw new GrpcError(status.INVALID_ARGUMENT, "n must be even");
      }),
    });
    const { tx, status: final } = bidiCall((md, o) => harness.client().chat(md, o));
    await tx.send({ n: 1 });
    await expect(final).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    const server = await ended("server");
    const client = await ended("client");
    expect(events("server")).toEqual(["start", "end", "error", "asyncStart", "asyncEnd"]);
    expect(events("client")).toEqual(["start", "end", "error", "asyncStart", "asyncEnd"]);
    for (const t of [server, client]) {
      expect(t).toMatchObject({ code: status.INVALID_ARGUMENT, details: "n must be even", ending: "error" });
      expect(t.error).toBeInstanceOf(GrpcError);
    }
  });

  it("the client cancels: a cancel event on each side (local on the client), both traces 'cancelled'", async () => {
    let handlerSignal: AbortSignal | undefined;
    await harness.start({
      chat: serveBidi<Msg, Msg>(async (requests, responses, ctx) => {
        handlerSignal = ctx.signal;
        for await (const m of requests) await responses.send(m);
      }),
    });
    const call = bidiCall((md, o) => harness.client().chat(md, o));
    await call.tx.send({ n: 1 });
    await call.rx.recv();
    call.cancel();
    await expect(call.status).rejects.toMatchObject({ code: status.CANCELLED });
    const server = await ended("server");
    const client = await ended("client");
    expect(handlerSignal?.aborted).toBe(true);
    expect(server).toMatchObject({
      code: status.CANCELLED,
      ending: "cancelled",
      messagesReceived: 1,
      messagesSent: 1,
    });
    expect(client).toMatchObject({
      code: status.CANCELLED,
      ending: "cancelled",
      messagesSent: 1,
      messagesReceived: 1,
    });
    expect(hear().cancels).toHaveLength(2);
    expect(hear().cancels).toContainEqual(
      expect.objectContaining({
        side: "client",
        method: CHAT,
        local: true,
        code: status.CANCELLED,
        ending: "cancelled",
      }),
    );
    expect(hear().cancels).toContainEqual(
      expect.objectContaining({
        side: "server",
        method: CHAT,
        local: false,
        code: status.CANCELLED,
        ending: "cancelled",
      }),
    );
  });

  it("a server's cancel event names the client that cancelled, with or without a call trace subscribed", async () => {
    await harness.start({
      chat: serveBidi<Msg, Msg>(async (requests, responses) => {
        for await (const m of requests) await responses.send(m);
      }),
    });
    for (const traced of [true, false]) {
      if (!traced) for (const stop of stops.splice(0, 2)) stop(); // the two tracing subscribers
      hear().cancels.length = 0;
      const call = bidiCall((md, o) => harness.client().chat(md, o));
      await call.tx.send({ n: 1 });
      await call.rx.recv();
      call.cancel();
      await expect(call.status).rejects.toMatchObject({ code: status.CANCELLED });
      for (let i = 0; i < 200 && hear().cancels.length < 2; i++) await sleep(5);
      const onServer = hear().cancels.find((c) => c.side === "server");
      expect(onServer, `traced: ${traced}`).toMatchObject({ ending: "cancelled", local: false });
      expect(onServer?.peer, `traced: ${traced}`).toMatch(/^127\.0\.0\.1:\d+$/);
    }
  });

  it("the server cancels (its handler ends the call with CANCELLED): the client hears a peer's cancel", async () => {
    await harness.start({
      chat: serveBidi<Msg, Msg>(async () => {
        throw new GrpcError(status.CANCELLED, "the server gave up");
      }),
    });
    const { status: final } = bidiCall((md, o) => harness.client().chat(md, o));
    await expect(final).rejects.toMatchObject({ code: status.CANCELLED });
    const server = await ended("server");
    const client = await ended("client");
    expect(server).toMatchObject({ code: status.CANCELLED, ending: "error", details: "the server gave up" });
    expect(client).toMatchObject({ code: status.CANCELLED, ending: "cancelled" });
    expect(hear().cancels).toEqual([
      expect.objectContaining({ side: "client", local: false, details: "the server gave up" }),
    ]);
  });

  it("the deadline passes: both traces read 'deadline', the start carries the deadline", async () => {
    await harness.start({
      chat: serveBidi<Msg, Msg>(async (requests) => {
        for await (const _ of requests) {
          // never answers
        }
      }),
    });
    const t0 = Date.now();
    const { status: final } = bidiCall((md, o) => harness.client().chat(md, o), { timeoutMs: 150 });
    await expect(final).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    const server = await ended("server");
    const client = await ended("client");
    expect(server).toMatchObject({ code: status.DEADLINE_EXCEEDED, ending: "deadline" });
    expect(client).toMatchObject({ code: status.DEADLINE_EXCEEDED, ending: "deadline" });
    for (const t of [server, client]) {
      expect(t.deadline).toBeInstanceOf(Date);
      expect(Math.abs((t.deadline as Date).getTime() - (t0 + 150))).toBeLessThan(1000);
    }
    expect(hear().cancels).toEqual([]);
  });

  it("a server shutdown reaches the handler: the shutdown event, the server's trace 'shutdown', the client's UNAVAILABLE", async () => {
    const stopping = new AbortController();
    const h = await harness.start({
      chat: serveBidi<Msg, Msg>(
        async (requests, responses) => {
          for await (const m of requests) await responses.send(m);
        },
        { shutdownSignal: stopping.signal },
      ),
    });
    const { tx, rx, status: final } = bidiCall((md, o) => harness.client().chat(md, o));
    await tx.send({ n: 1 });
    await rx.recv();
    const stopped = shutdownServer(h.server, { abort: stopping, graceMs: 2000 });
    await expect(final).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(await within(stopped, 3000, "the shutdown")).toEqual({ forced: false });
    const server = await ended("server");
    const client = await ended("client");
    expect(hear().shutdowns).toEqual([
      { method: CHAT, peer: server.peer, code: status.UNAVAILABLE, details: "the server is shutting down" },
    ]);
    expect(server).toMatchObject({ code: status.UNAVAILABLE, ending: "shutdown" });
    expect(client).toMatchObject({ code: status.UNAVAILABLE, ending: "error" });
  });

  it("a forced shutdown: shutdownServer's reads 'shutdown' on the server, grpc-js's own forceShutdown 'lost'; the client hears a cancel", async () => {
    for (const how of ["shutdownServer", "forceShutdown"] as const) {
      forgetHeard(hear());
      const h = await harness.start({
        chat: serveBidi<Msg, Msg>(async (requests, responses) => {
          for await (const m of requests) await responses.send(m); // ignores any shutdown
        }),
      });
      const { tx, rx, status: final } = bidiCall((md, o) => harness.client().chat(md, o));
      await tx.send({ n: 1 });
      await rx.recv();
      if (how === "shutdownServer") {
        expect(await within(shutdownServer(h.server, { graceMs: 20 }), 3000, "the shutdown")).toEqual({
          forced: true,
        });
      } else {
        h.server.forceShutdown();
      }
      await expect(final).rejects.toMatchObject({ code: status.CANCELLED });
      const server = await ended("server");
      const client = await ended("client");
      expect(client, how).toMatchObject({ code: status.CANCELLED, ending: "cancelled" });
      expect(hear().cancels, how).toContainEqual(
        expect.objectContaining({ side: "client", local: false, ending: "cancelled" }),
      );
      if (how === "shutdownServer") {
        expect(server).toMatchObject({ code: status.UNAVAILABLE, ending: "shutdown" });
        expect(hear().shutdowns).toHaveLength(1);
      } else {
        expect(server).toMatchObject({ code: status.CANCELLED, ending: "lost" });
        expect(hear().cancels).toContainEqual(expect.objectContaining({ side: "server", ending: "lost" }));
      }
      await h.close();
    }
  });

  it("the client process is killed: the server's trace reads 'lost' and a cancel event says so", async () => {
    const h = await start({
      chat: serveBidi<Msg, Msg>(
        async (_requests, responses) => {
          for (let n = 0; ; n++) await responses.send({ n, text: "z".repeat(512) });
        },
        { responseCapacity: 4, onError: () => {} },
      ),
    });
    try {
      const child = spawnFixture("stream-client", [String(h.port)]);
      expect(await nextMessage<string>(child)).toBe("streaming");
      child.kill("SIGKILL");
      const server = await within(ended("server"), 5000, "the server's trace");
      expect(server.code).toBe(status.CANCELLED);
      expect(server.ending).toBe("lost");
      expect(server.messagesSent).toBeGreaterThan(0);
      expect(hear().cancels).toEqual([
        expect.objectContaining({ side: "server", local: false, ending: server.ending, peer: server.peer }),
      ]);
      expect(server.peer).toMatch(/127\.0\.0\.1/);
    } finally {
      await h.close();
    }
  });

  it("the server process is killed: the client's trace reads 'error' with UNAVAILABLE", async () => {
    const server = spawnFixture("server", ["echo"]);
    const { port } = await nextMessage<{ port: number }>(server);
    const client = TestClientCtor(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const { tx, rx, status: final } = bidiCall((md, o) => client.chat(md, o));
      await tx.send({ n: 1 });
      expect((await rx.recv())?.n).toBe(1);
      server.kill("SIGKILL");
      await expect(within(final, 5000, "the status")).rejects.toMatchObject({ code: status.UNAVAILABLE });
      const trace = await ended("client");
      expect(trace).toMatchObject({
        code: status.UNAVAILABLE,
        ending: "error",
        messagesSent: 1,
        messagesReceived: 1,
      });
      expect(trace.error).toBeInstanceOf(GrpcError);
    } finally {
      client.close();
    }
  });
});

describe("the server trace's start", () => {
  it("runs the handler with the stores bound to the start channel set from the trace (its AsyncLocalStorage context)", async () => {
    const als = new AsyncLocalStorage<CallTrace>();
    const start = namedChannel(`tracing:${callEvents.serverCall}:start`);
    start.bindStore(als, (trace) => trace as CallTrace);
    stops.push(() => start.unbindStore(als));
    // As Node's traceSync and tracePromise do, `end` is published inside the start's stores.
    let atEnd: CallTrace | undefined;
    const onEnd = (): void => {
      atEnd = als.getStore();
    };
    const end = namedChannel(`tracing:${callEvents.serverCall}:end`);
    end.subscribe(onEnd);
    stops.push(() => end.unsubscribe(onEnd));
    let seen: CallTrace | undefined;
    let later: CallTrace | undefined;
    await harness.start({
      chat: serveBidi<Msg, Msg>(async (requests, responses) => {
        seen = als.getStore();
        for await (const m of requests) await responses.send(m);
        later = als.getStore(); // still set after awaits: the handler's async context
      }),
    });
    const { tx, rx, status: final } = bidiCall((md, o) => harness.client().chat(md, o));
    await tx.send({ n: 1 });
    tx.close();
    for await (const _ of rx) {
      // drain
    }
    await final;
    const server = await ended("server");
    expect(seen).toBe(server);
    expect(later).toBe(server);
    expect(atEnd).toBe(server);
    expect(als.getStore()).toBeUndefined();
  });
});

describe("call metrics and byte counts", () => {
  it("ctx.metrics() and call.metrics() count messages each way, and bytes of byte-array messages", async () => {
    const raw = {
      echo: {
        path: "/raw.Raw/Echo",
        requestStream: true,
        responseStream: true,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    const server = new Server();
    let serverMetrics: unknown;
    server.addService(raw, {
      echo: serveBidi<Buffer, Buffer>(async (requests, responses, ctx) => {
        for await (const b of requests) await responses.send(Buffer.concat([b, b]));
        serverMetrics = ctx.metrics();
      }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const { makeGenericClientConstructor } = await import("@grpc/grpc-js");
    const Ctor = makeGenericClientConstructor(raw, "Raw");
    const client = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
      echo: (md: never, o: never) => import("@grpc/grpc-js").ClientDuplexStream<Buffer, Buffer>;
      close(): void;
    };
    try {
      const call = bidiCall<Buffer, Buffer>((md, o) => client.echo(md as never, o as never));
      expect(call.metrics()).toEqual({
        messagesSent: 0,
        messagesReceived: 0,
        bytesSent: 0,
        bytesReceived: 0,
      });
      await call.tx.send(Buffer.from("abc"));
      await call.tx.send(Buffer.from("hello"));
      call.tx.close();
      for await (const _ of call.rx) {
        // drain
      }
      await call.status;
      expect(call.metrics()).toEqual({
        messagesSent: 2,
        messagesReceived: 2,
        bytesSent: 8,
        bytesReceived: 16,
      });
      expect(serverMetrics).toEqual({
        messagesSent: 2,
        messagesReceived: 2,
        bytesSent: 16,
        bytesReceived: 8,
      });
      const trace = await ended("server");
      expect(trace).toMatchObject({ method: "/raw.Raw/Echo", bytesSent: 16, bytesReceived: 8 });
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

describe("call metrics of the call kinds with one message one way", () => {
  it("a server-streaming call counts its request, a client-streaming call its response, on both sides", async () => {
    let streamed: unknown;
    let summed: unknown;
    await harness.start({
      count: serveServerStream<Msg, Msg>(async (req, responses, ctx) => {
        for (let i = 0; i < req.n; i++) await responses.send({ n: i });
        streamed = ctx.metrics();
      }),
      sum: serveClientStream<Msg, Msg>(async (requests, ctx) => {
        let total = 0;
        for await (const r of requests) total += r.n;
        summed = ctx.metrics();
        return { n: total };
      }),
    });
    const counting = serverStreamCall((req, md, o) => harness.client().count(req, md, o), { n: 3 });
    const got: number[] = [];
    for await (const m of counting.rx) got.push(m.n);
    await counting.status;
    expect(got).toEqual([0, 1, 2]);
    const none = { bytesSent: 0, bytesReceived: 0 };
    expect(counting.metrics()).toEqual({ messagesSent: 1, messagesReceived: 3, ...none });
    expect(streamed).toEqual({ messagesSent: 3, messagesReceived: 1, ...none });
    expect(await ended("client")).toMatchObject({ ending: "ok", messagesSent: 1, messagesReceived: 3 });
    expect(await ended("server")).toMatchObject({ ending: "ok", messagesSent: 3, messagesReceived: 1 });

    hear().server.length = 0;
    hear().client.length = 0;
    const summing = clientStreamCall<Msg, Msg>((md, o, cb) => harness.client().sum(md, o, cb));
    await summing.tx.send({ n: 1 });
    await summing.tx.send({ n: 2 });
    summing.tx.close();
    expect(await summing.response).toEqual({ n: 3 });
    expect(summed).toEqual({ messagesSent: 0, messagesReceived: 2, ...none });
    expect(await ended("server")).toMatchObject({ ending: "ok", messagesSent: 1, messagesReceived: 2 });
    expect(await ended("client")).toMatchObject({ ending: "ok", messagesSent: 2, messagesReceived: 1 });
    expect(summing.metrics()).toEqual({ messagesSent: 2, messagesReceived: 1, ...none });
  });
});

describe("sendBroadcast's slow client", () => {
  it("publishes each skip with the policy, what was missed and what was sent", async () => {
    const [ticks, keep] = broadcast<number>(2);
    let subscribed: () => void = () => {};
    const ready = new Promise<void>((r) => (subscribed = r));
    await harness.start({
      count: serveServerStream<Msg, Msg>(async (_req, responses, ctx) => {
        const rx = ticks.subscribe();
        subscribed();
        await sendBroadcast(rx, responses, { signal: ctx.signal, map: (n) => ({ n }) });
      }),
    });
    const { serverStreamCall } = await import("grpc-mpsc/grpc");
    const { rx } = serverStreamCall(
      (req: Msg, md, o) => harness.client().count(req, md, o),
      { n: 0 },
      { responseCapacity: 1 },
    );
    await ready;
    for (let i = 0; i < 200; i++) ticks.send(i); // far more than ring + the call's buffers hold
    ticks.close();
    keep.close();
    for await (const _ of rx) {
      // drain
    }
    expect(hear().slow.length).toBeGreaterThan(0);
    const first = hear().slow[0] as SlowClientEvent;
    expect(first.policy).toBe("skip");
    expect(first.missed).toBeGreaterThan(0);
    expect(first.totalMissed).toBe(first.missed);
    const last = hear().slow.at(-1) as SlowClientEvent;
    expect(last.totalMissed).toBe(hear().slow.reduce((sum, e) => sum + e.missed, 0));
    expect(last.sent).toBeGreaterThan(0);
  });
});
