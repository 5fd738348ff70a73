/**
 * Keepalive and connection limits of the h2 transport, from the other side's point of view: a peer
 * that vanishes without closing (a TCP proxy that stops forwarding stands in for a pulled cable) is
 * found by PINGs and every call on it ends; a client that pings too often is sent GOAWAY
 * `too_many_pings` (gRPC's policy); one within the policy is left alone; and the h2 client queues
 * calls past the server's SETTINGS_MAX_CONCURRENT_STREAMS instead of having them refused.
 */
import { connect as connectHttp2, createServer as createHttp2Server } from "node:http2";
import type { Receiver } from "grpc-mpsc";
import { Code, connect, createServer, type GrpcError, type H2Client, type H2Server } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { rejection, sleep, within } from "../support/async.js";
import type { Msg } from "../support/grpc.js";
import { type TcpProxy, tcpProxy } from "../support/tcp-proxy.js";
import { H2TestService as TestService } from "../support/transport.js";

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/** An h2 server whose `chat` echoes; `onSignal` sees each handler's `ctx.signal`. */
async function echoServer(
  options: Parameters<typeof createServer>[0],
  onSignal?: (signal: AbortSignal) => void,
): Promise<number> {
  const server: H2Server = createServer(options).addService(TestService, {
    chat: async (requests: Receiver<Msg>, responses, ctx) => {
      onSignal?.(ctx.signal);
      for await (const r of requests) await responses.send(r);
    },
    count: async (req, responses) => {
      await sleep(req.n);
      await responses.send({ n: req.n });
    },
    sum: async () => ({ n: 0 }),
  });
  stops.push(() => server.forceShutdown());
  return server.listen(0);
}

function client(target: string, options?: Parameters<typeof connect>[1]): H2Client {
  const c = connect(target, options);
  stops.push(() => c.close());
  return c;
}

async function blackHoleProxy(port: number): Promise<TcpProxy> {
  const proxy = await tcpProxy(port);
  stops.push(() => proxy.stop());
  return proxy;
}

describe("h2 keepalive finds a peer that went silent", () => {
  it("the client's PINGs end its open call UNAVAILABLE within timeMs + timeoutMs", async () => {
    const proxy = await blackHoleProxy(await echoServer({}));
    const c = client(`127.0.0.1:${proxy.port}`, { keepalive: { timeMs: 100, timeoutMs: 200 } });
    const call = c.bidiCall(TestService.chat);
    await call.tx.send({ n: 1 });
    expect(await within(call.rx.recv(), 3000, "first echo")).toEqual({ n: 1 });
    proxy.silence();
    const started = Date.now();
    const error = (await within(rejection(call.status), 3000, "status after silence")) as GrpcError;
    expect(error.code).toBe(Code.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(2500);
    await expect(call.rx.recv()).rejects.toMatchObject({ code: Code.UNAVAILABLE });
  });

  it("the server's PINGs abort the handler's ctx.signal when its client went silent", async () => {
    let signal: AbortSignal | undefined;
    const serverPort = await echoServer({ keepalive: { timeMs: 100, timeoutMs: 200 } }, (s) => {
      signal = s;
    });
    const proxy = await blackHoleProxy(serverPort);
    const c = client(`127.0.0.1:${proxy.port}`);
    const call = c.bidiCall(TestService.chat);
    await call.tx.send({ n: 1 });
    expect(await within(call.rx.recv(), 3000, "first echo")).toEqual({ n: 1 });
    proxy.silence();
    const s = signal as AbortSignal;
    await within(
      new Promise<void>((resolve) => (s.aborted ? resolve() : s.addEventListener("abort", () => resolve()))),
      3000,
      "the handler's signal",
    );
    expect((s.reason as GrpcError).code).toBe(Code.CANCELLED);
  });

  it("without calls the client does not ping unless withoutCalls is set", async () => {
    // A raw HTTP/2 server stands in for the peer and counts the PINGs it gets.
    let pings = 0;
    const counting = createHttp2Server();
    counting.on("session", (session) => session.on("ping", () => pings++));
    counting.on("stream", (stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
    });
    await new Promise<void>((resolve) => counting.listen(0, "127.0.0.1", resolve));
    stops.push(() => counting.close());
    const address = counting.address();
    const countingPort = typeof address === "object" && address !== null ? address.port : 0;

    const idle = client(`127.0.0.1:${countingPort}`, { keepalive: { timeMs: 50 } });
    const call = idle.bidiCall(TestService.chat);
    await within(call.headers, 3000, "headers"); // connected, one call open
    await sleep(300);
    const withCall = pings;
    expect(withCall).toBeGreaterThanOrEqual(2);
    call.cancel();
    await rejection(call.status);
    await sleep(100);
    const afterCancel = pings;
    await sleep(300);
    expect(pings - afterCancel).toBeLessThanOrEqual(1);

    const always = client(`127.0.0.1:${countingPort}`, { keepalive: { timeMs: 50, withoutCalls: true } });
    const opened = always.bidiCall(TestService.chat);
    await within(opened.headers, 3000, "headers");
    opened.cancel();
    await rejection(opened.status);
    const before = pings;
    await sleep(400);
    expect(pings - before).toBeGreaterThanOrEqual(3);
  });
});

describe("the h2 server holds clients to gRPC's ping policy", () => {
  /** A raw HTTP/2 client that opens one stream and pings every `everyMs`; resolves with the GOAWAY it gets, if any. */
  async function pinger(
    port: number,
    everyMs: number,
    forMs: number,
    withStream: boolean,
  ): Promise<{ code: number; data: string } | undefined> {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    stops.push(() => session.destroy());
    session.on("error", () => {});
    await new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
    if (withStream) {
      const stream = session.request({
        ":method": "POST",
        ":path": "/test.Test/Chat",
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => {});
    }
    return within(
      new Promise((resolve) => {
        const timer = setInterval(() => {
          if (session.destroyed || session.closed) return;
          try {
            session.ping(() => {});
          } catch {
            // the session is closing
          }
        }, everyMs);
        session.once("goaway", (code: number, _last: number, data?: Buffer) => {
          clearInterval(timer);
          resolve({ code, data: data?.toString() ?? "" });
        });
        setTimeout(() => {
          clearInterval(timer);
          resolve(undefined);
        }, forMs);
      }),
      forMs + 2000,
      "pinger",
    );
  }

  it("pings far more often than minPingIntervalMs get GOAWAY ENHANCE_YOUR_CALM too_many_pings", async () => {
    const port = await echoServer({ keepalive: { minPingIntervalMs: 1000 } });
    const goaway = await pinger(port, 20, 1500, true);
    expect(goaway).toEqual({ code: 11, data: "too_many_pings" });
  });

  it("pings within the policy are answered and the connection stays", async () => {
    const port = await echoServer({ keepalive: { minPingIntervalMs: 50 } });
    expect(await pinger(port, 150, 900, true)).toBeUndefined();
  });

  it("pings without a call open are too soon unless permitWithoutCalls", async () => {
    const strict = await echoServer({ keepalive: { minPingIntervalMs: 10 } });
    expect(await pinger(strict, 100, 1200, false)).toEqual({ code: 11, data: "too_many_pings" });
    const permissive = await echoServer({ keepalive: { minPingIntervalMs: 10, permitWithoutCalls: true } });
    expect(await pinger(permissive, 100, 800, false)).toBeUndefined();
  });
});

describe("h2 connection limits", () => {
  it("calls past the server's SETTINGS_MAX_CONCURRENT_STREAMS wait for a stream, none is refused", async () => {
    const port = await echoServer({ maxConcurrentStreams: 2 });
    const c = client(`127.0.0.1:${port}`);
    const calls = Array.from({ length: 6 }, (_, i) => c.serverStreamCall(TestService.count, { n: 100 + i }));
    const got = await within(
      Promise.all(calls.map(async (call) => (await call.rx.recv())?.n)),
      5000,
      "six calls through two streams",
    );
    expect(got).toEqual([100, 101, 102, 103, 104, 105]);
    await Promise.all(calls.map((call) => call.status));
  });

  it("keepalive and maxSessionMemory options are checked, naming the option", () => {
    expect(() => connect("127.0.0.1:1", { keepalive: { timeMs: 0 } })).toThrow(/keepalive\.timeMs/);
    expect(() => connect("127.0.0.1:1", { keepalive: { timeMs: 10, timeoutMs: -1 } })).toThrow(
      /keepalive\.timeoutMs/,
    );
    expect(() => connect("127.0.0.1:1", { maxSessionMemory: 0 })).toThrow(/maxSessionMemory/);
    expect(() => createServer({ keepalive: { minPingIntervalMs: -5 } })).toThrow(/minPingIntervalMs/);
    expect(() => createServer({ keepalive: { permitWithoutCalls: "yes" as never } })).toThrow(TypeError);
    expect(() => createServer({ maxSessionMemory: 1.5 })).toThrow(/maxSessionMemory/);
  });
});
