/**
 * The h2 transport's own edges, from the other side's point of view: gzip both ways, the client's
 * connection handling, and a graceful shutdown (bad input from a raw peer: hostile.test.ts).
 */
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { Code, connect, createServer, GrpcError, type H2Server, WireMetadata } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { frameAll } from "../../src/h2/framing.js";
import { rejection, within } from "../support/async.js";
import type { Msg } from "../support/grpc.js";
import { GRPC_HEADERS, json, rawRequest } from "../support/h2-raw.js";
import { H2TestService as TestService } from "../support/transport.js";

let server: H2Server | undefined;
afterEach(() => {
  server?.forceShutdown();
  server = undefined;
});

/** An h2 server of the test service whose `chat` echoes and whose `count` streams `n` messages. */
async function startEcho(options?: Parameters<typeof createServer>[0]): Promise<number> {
  server = createServer(options).addService(TestService, {
    chat: async (requests, responses) => {
      for await (const r of requests) await responses.send(r);
    },
    count: async (req, responses) => {
      for (let i = 0; i < req.n; i++) await responses.send({ n: i });
    },
    sum: async () => ({ n: 0 }),
  });
  return server.listen(0);
}

describe("gzip", () => {
  it("an h2 client that compresses is answered in gzip by the h2 server, and both read it", async () => {
    const port = await startEcho();
    const client = connect(`127.0.0.1:${port}`, { compression: "gzip" });
    try {
      const { tx, rx } = client.bidiCall(TestService.chat);
      const text = "compressible ".repeat(1000);
      await tx.send({ n: 1, text });
      tx.close();
      const got: Msg[] = [];
      for await (const m of rx) got.push(m);
      expect(got).toEqual([{ n: 1, text }]);
    } finally {
      client.close();
    }
  });

  it("a raw gzip request gets a gzip response with grpc-encoding set", async () => {
    const port = await startEcho();
    const { gzipSync, gunzipSync } = await import("node:zlib");
    const res = await rawRequest(
      port,
      { ...GRPC_HEADERS, "grpc-encoding": "gzip" },
      frameAll([gzipSync(json({ n: 9 }))], true),
    );
    expect(res.headers["grpc-encoding"]).toBe("gzip");
    expect(res.body[0]).toBe(1);
    expect(JSON.parse(gunzipSync(res.body.subarray(5)).toString())).toEqual({ n: 9 });
  });
});

describe("the h2 client", () => {
  it("fails a call UNAVAILABLE at the first failed connect when asked not to wait", async () => {
    const client = connect("127.0.0.1:1", { backoff: { initialMs: 20, maxMs: 50 } });
    try {
      const { rx } = client.serverStreamCall(TestService.count, { n: 1 }, { waitForReady: false });
      await expect(within(rx.recv(), 3000)).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    } finally {
      client.close();
    }
  });

  it("a call made before the server is up waits for it (reconnecting with backoff) and succeeds", async () => {
    // Find a free port, then start the server on it only after the call was made.
    const probe = createServer();
    const port = await probe.listen(0);
    await probe.shutdown(0);
    const client = connect(`127.0.0.1:${port}`, { backoff: { initialMs: 30, maxMs: 60 } });
    try {
      const call = client.serverStreamCall(TestService.count, { n: 3 }, { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 150)); // a few connects have failed by now
      server = createServer().addService(TestService, {
        chat: async () => {},
        count: async (req, responses) => {
          for (let i = 0; i < req.n; i++) await responses.send({ n: i });
        },
        sum: async () => ({ n: 0 }),
      });
      await server.listen(port);
      const got: number[] = [];
      for await (const m of call.rx) got.push(m.n);
      expect(got).toEqual([0, 1, 2]);
    } finally {
      client.close();
    }
  });

  it("a call that waits for a connection ends DEADLINE_EXCEEDED at its deadline", async () => {
    const client = connect("127.0.0.1:1", { backoff: { initialMs: 20, maxMs: 50 } });
    try {
      const started = Date.now();
      const { status } = client.serverStreamCall(TestService.count, { n: 1 }, { timeoutMs: 200 });
      await expect(within(status, 3000)).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      client.close();
    }
  });

  it("the DEADLINE_EXCEEDED of a call that waited for a connection says why the last connect failed", async () => {
    const client = connect("127.0.0.1:1", { backoff: { initialMs: 20, maxMs: 50 } });
    try {
      const { status } = client.serverStreamCall(TestService.count, { n: 1 }, { timeoutMs: 200 });
      const error = (await within(rejection(status), 3000, "status")) as GrpcError;
      expect(error).toBeInstanceOf(GrpcError);
      expect(error.code).toBe(Code.DEADLINE_EXCEEDED);
      expect(error.details).toMatch(
        /^the deadline passed while connecting: could not connect to http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1$/,
      );
      // The cause is the UNAVAILABLE a fail-fast call would have had, and under it Node's error.
      const unavailable = error.cause as GrpcError;
      expect(unavailable).toBeInstanceOf(GrpcError);
      expect(unavailable.code).toBe(Code.UNAVAILABLE);
      expect(unavailable.cause).toMatchObject({ code: "ECONNREFUSED" });
    } finally {
      client.close();
    }
  });

  it("a call whose deadline passes during the first connect names the target it was connecting to", async () => {
    // A TCP server that accepts and never answers: the first connect neither succeeds nor fails.
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const client = connect(`127.0.0.1:${port}`);
    try {
      const { status } = client.serverStreamCall(TestService.count, { n: 1 }, { timeoutMs: 200 });
      const error = (await within(rejection(status), 3000, "status")) as GrpcError;
      expect(error.code).toBe(Code.DEADLINE_EXCEEDED);
      expect(error.details).toBe(`the deadline passed while connecting to http://127.0.0.1:${port}`);
    } finally {
      client.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("a call that had its stream when the deadline passed reads only that the deadline passed", async () => {
    const port = await startEcho();
    const client = connect(`127.0.0.1:${port}`);
    try {
      const { status } = client.bidiCall(TestService.chat, { timeoutMs: 300 });
      const error = (await within(rejection(status), 3000, "status")) as GrpcError;
      expect(error.code).toBe(Code.DEADLINE_EXCEEDED);
      expect(error.details).not.toMatch(/connect/);
    } finally {
      client.close();
    }
  });

  it("a server that answers a cleartext client with bytes that are not HTTP/2 (a TLS alert) is named so, with a hint at TLS", async () => {
    // What a TLS server might send to a preface that is not a TLS record: an alert (21), TLS 1.2, 2 bytes.
    const alert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
    const tlsLike = createTcpServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.end(alert));
    });
    await new Promise<void>((resolve) => tlsLike.listen(0, "127.0.0.1", resolve));
    const { port } = tlsLike.address() as AddressInfo;
    const client = connect(`127.0.0.1:${port}`);
    try {
      const { status } = client.serverStreamCall(TestService.count, { n: 1 }, { waitForReady: false });
      const error = (await within(rejection(status), 3000, "status")) as GrpcError;
      expect(error.code).toBe(Code.UNAVAILABLE);
      expect(error.details).toBe(
        `could not connect to http://127.0.0.1:${port}: the server answered with 7 bytes that are not HTTP/2 ` +
          "(then closed): if it expects TLS, use an https:// target or the `tls` option",
      );
    } finally {
      client.close();
      await new Promise((resolve) => tlsLike.close(resolve));
    }
  });

  it("refuses reserved metadata keys when the call is made, naming the key", async () => {
    const client = connect("127.0.0.1:1");
    try {
      const md = new WireMetadata();
      md.set("grpc-status", "0");
      expect(() => client.bidiCall(TestService.chat, { metadata: md })).toThrow(/grpc-status/);
    } finally {
      client.close();
    }
  });

  it("a unary call gets its response and the response headers", async () => {
    const UnaryEcho = {
      path: "/test.Test/Echo",
      requestStream: false as const,
      responseStream: false as const,
      requestSerialize: (m: Msg) => json(m),
      requestDeserialize: (b: Buffer) => JSON.parse(b.toString()) as Msg,
      responseSerialize: (m: Msg) => json(m),
      responseDeserialize: (b: Buffer) => JSON.parse(b.toString()) as Msg,
    };
    server = createServer().addService(
      { echo: UnaryEcho },
      {
        echo: async (req, ctx) => {
          const headers = new WireMetadata();
          headers.set("x-served-by", "h2");
          ctx.sendMetadata(headers);
          if (req.n < 0) throw new GrpcError(Code.INVALID_ARGUMENT, "negative");
          return { n: req.n + 1 };
        },
      },
    );
    const port = await server.listen(0);
    const client = connect(`127.0.0.1:${port}`);
    try {
      const ok = client.unaryCall(UnaryEcho, { n: 41 });
      expect(await ok.response).toEqual({ n: 42 });
      expect((await ok.status).code).toBe(Code.OK);
      expect((await ok.headers).get("x-served-by")).toEqual(["h2"]);
      const bad = client.unaryCall(UnaryEcho, { n: -1 });
      expect(await rejection(bad.response)).toMatchObject({
        code: Code.INVALID_ARGUMENT,
        details: "negative",
      });
    } finally {
      client.close();
    }
  });
});

describe("shutdown", () => {
  it("shutdown(grace) lets a short call finish, then ends the long ones UNAVAILABLE", async () => {
    let release: () => void = () => {};
    const short = new Promise<void>((resolve) => {
      release = resolve;
    });
    server = createServer().addService(TestService, {
      chat: async (requests) => {
        for await (const _ of requests) {
          // a long call: it never ends on its own
        }
      },
      count: async (_req, responses) => {
        await short;
        await responses.send({ n: 1 });
      },
      sum: async () => ({ n: 0 }),
    });
    const port = await server.listen(0);
    const client = connect(`127.0.0.1:${port}`);
    try {
      const long = client.bidiCall(TestService.chat);
      await long.tx.send({ n: 0 });
      const quick = client.serverStreamCall(TestService.count, { n: 1 });
      await new Promise((r) => setTimeout(r, 50));
      const stopping = server.shutdown(300);
      release();
      const got: number[] = [];
      for await (const m of quick.rx) got.push(m.n);
      expect(got).toEqual([1]);
      await expect(within(long.status, 3000)).rejects.toMatchObject({ code: Code.UNAVAILABLE });
      await within(stopping, 3000, "shutdown");
    } finally {
      client.close();
    }
  });
});

describe("listen's arguments", () => {
  it.each([
    ["a grpc-js-style address string", "127.0.0.1:0"],
    ["a negative port", -1],
    ["a port past 65535", 70_000],
    ["a fraction", 1.5],
  ])("%s is a RangeError naming the port, and nothing listens", async (_what, port) => {
    server = createServer();
    await expect(server.listen(port as number)).rejects.toThrow(RangeError);
    await expect(server.listen(port as number)).rejects.toThrow(/port/);
    // The server is still usable with a good port.
    const bound = await server.listen(0);
    expect(bound).toBeGreaterThan(0);
  });

  it("a host that is not a string is a TypeError", async () => {
    server = createServer();
    await expect(server.listen(0, 127 as unknown as string)).rejects.toThrow(TypeError);
  });
});

describe("connect's target", () => {
  it.each([
    ["127.0.0.1", /no port/],
    [":50051", /does not parse|no host/],
    ["127.0.0.1:abc", /does not parse/],
    ["127.0.0.1:99999", /: port 99999 is over 65535$/],
    ["dns:///localhost:50051", /dns: scheme/],
    ["unix:/tmp/grpc.sock", /unix: scheme/],
    ["http://127.0.0.1:50051/a/path", /path/],
  ])("%s is a RangeError that says what is wrong with it", (target, why) => {
    expect(() => connect(target)).toThrow(RangeError);
    expect(() => connect(target)).toThrow(why);
  });

  it.each([
    "127.0.0.1:50051",
    "localhost:50051",
    "[::1]:50051",
    "http://127.0.0.1:50051",
    "https://localhost",
  ])("%s is taken", (target) => {
    connect(target).close();
  });
});
