/**
 * A hostile review of the large-message and window commit (620b3a7): a client closed while its
 * session still connects, with a connection window set; windows of 0; large messages through a
 * window a raw peer opens a byte at a time; cancels and resets while pieces are queued.
 */
import { once } from "node:events";
import http2, { type ClientHttp2Stream, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer, type Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import { SendError } from "grpc-mpsc";
import { Code, connect, createServer, type H2Server } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { frameAll } from "../../src/h2/framing.js";
import { sleep, within } from "../support/async.js";
import { Bytes, BytesService, GRPC_HEADERS, pattern } from "../support/h2-raw.js";

let server: H2Server | undefined;
const stops: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  server?.forceShutdown();
  server = undefined;
});

/** Errors thrown where nobody catches them (a listener of a Node event), while `run` runs and a bit after. */
async function uncaughtDuring(run: () => Promise<void>): Promise<unknown[]> {
  const caught: unknown[] = [];
  const onError = (error: unknown): void => {
    caught.push(error);
  };
  // Vitest's own listeners are set aside so that the error is this test's to report.
  const saved = process.listeners("uncaughtException");
  process.removeAllListeners("uncaughtException");
  process.on("uncaughtException", onError);
  try {
    await run();
    await sleep(100);
  } finally {
    process.removeListener("uncaughtException", onError);
    for (const l of saved) process.on("uncaughtException", l);
  }
  return caught;
}

describe("connectionWindowSize and a session that is gone before it connects", () => {
  it("a client closed while its session connects throws nothing when the socket connects", async () => {
    // The client is closed in the same turn as its first call: its socket is still connecting.
    const sockets: Socket[] = [];
    const tcp = createTcpServer((s) => sockets.push(s));
    tcp.listen(0, "127.0.0.1");
    await once(tcp, "listening");
    stops.push(() => {
      for (const s of sockets) s.destroy();
      tcp.close();
    });
    const port = (tcp.address() as AddressInfo).port;
    const caught = await uncaughtDuring(async () => {
      for (let i = 0; i < 5; i++) {
        const client = connect(`127.0.0.1:${port}`, { connectionWindowSize: 1 << 20 });
        const { tx, status } = client.bidiCall(Bytes);
        tx.close();
        client.close();
        await within(
          status.catch(() => undefined),
          2000,
          "the call",
        );
      }
    });
    expect(caught.map(String)).toEqual([]);
  });
});

describe("windows at their bounds", () => {
  // Node's nghttp2 sends a WINDOW_UPDATE only for bytes received: a stream window of 0 lets no DATA
  // through, not even a message's prefix (every call hung here), and a connection window of 0 shuts
  // the connection for good once the peer's first 65,535 bytes are in (a 70,000-byte echo hung).
  it("a window of 0, which nothing would ever open, is refused on both sides", () => {
    for (const name of ["initialWindowSize", "connectionWindowSize"] as const) {
      expect(() => createServer({ [name]: 0 }), `server ${name}`).toThrow(new RegExp(name));
      expect(() => connect("127.0.0.1:1", { [name]: 0 }), `client ${name}`).toThrow(new RegExp(name));
      expect(() => createServer({ [name]: 1 }), `server ${name}`).not.toThrow();
      connect("127.0.0.1:1", { [name]: 1 }).close();
    }
  });

  const cases: [string, Parameters<typeof createServer>[0], Parameters<typeof connect>[1], number[]][] = [
    ["windows of 1 byte on the server", { initialWindowSize: 1, connectionWindowSize: 1 }, {}, [0, 1, 2000]],
    ["windows of 1 byte on the client", {}, { initialWindowSize: 1, connectionWindowSize: 1 }, [0, 1, 2000]],
    [
      "windows of 2^31 - 1 on both sides",
      { initialWindowSize: 2 ** 31 - 1, connectionWindowSize: 2 ** 31 - 1 },
      { initialWindowSize: 2 ** 31 - 1, connectionWindowSize: 2 ** 31 - 1 },
      [0, 1, 16_383, 16_384, 16_385, 3 << 20],
    ],
    [
      "a connection window under the stream window",
      { initialWindowSize: 1 << 20, connectionWindowSize: 1000 },
      { initialWindowSize: 1 << 20, connectionWindowSize: 1000 },
      [0, 1, 16_383, 16_384, 16_385, 1 << 20],
    ],
  ];
  for (const [name, serverOptions, clientOptions, sizes] of cases) {
    it(`${name}: an echo of mixed sizes arrives whole and in order`, async () => {
      server = createServer(serverOptions).addService(BytesService, {
        echo: async (requests, responses) => {
          for await (const m of requests) await responses.send(m);
        },
      });
      const port = await server.listen(0);
      const client = connect(`127.0.0.1:${port}`, clientOptions);
      stops.push(() => client.close());
      const sent = sizes.map((s, i) => pattern(s, i));
      const { tx, rx, status } = client.bidiCall(Bytes);
      const sending = (async () => {
        for (const m of sent) await tx.send(m);
        tx.close();
      })();
      const got: Buffer[] = [];
      await within(
        (async () => {
          for await (const m of rx) got.push(m);
        })(),
        5000,
        "the echo",
      );
      await sending;
      await status;
      expect(got.map((b) => b.length)).toEqual(sizes);
      for (const [i, b] of got.entries()) expect(b.equals(sent[i] as Buffer), `message ${i}`).toBe(true);
    });
  }
});

/** The messages of a gRPC body, each gunzipped if its flag says so. */
function unframe(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const flag = body[at];
    const length = body.readUInt32BE(at + 1);
    const payload = body.subarray(at + 5, at + 5 + length);
    out.push(flag === 1 ? gunzipSync(payload) : Buffer.from(payload));
    at += 5 + length;
  }
  expect(at).toBe(body.length);
  return out;
}

const SIZES = [0, 1, 16_383, 16_384, 16_385, 3 << 20, 7, 70_000, 16_384, 0, 1 << 20, 2];

describe("a peer whose window is shut, then opened", () => {
  for (const compression of ["identity", "gzip"] as const) {
    it(`the client's messages (${compression}) wait in order behind a server window of 0 and arrive whole`, async () => {
      const raw = http2.createServer({ settings: { initialWindowSize: 0 } });
      const sessions: ServerHttp2Session[] = [];
      raw.on("session", (s) => sessions.push(s));
      const body = new Promise<Buffer>((resolve) => {
        raw.on("stream", (stream) => {
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
            stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            stream.end();
            resolve(Buffer.concat(chunks));
          });
          // The window opens once every message is queued behind it.
          setTimeout(() => stream.session?.settings({ initialWindowSize: 65_535 }), 100);
        });
      });
      raw.listen(0, "127.0.0.1");
      await once(raw, "listening");
      stops.push(() => {
        for (const s of sessions) s.destroy();
        raw.close();
      });
      const client = connect(`127.0.0.1:${(raw.address() as AddressInfo).port}`, { compression });
      stops.push(() => client.close());
      const sent = SIZES.map((s, i) => pattern(s, i * 3));
      const { tx, status } = client.bidiCall(Bytes);
      const sending = (async () => {
        for (const m of sent) await tx.send(m);
        tx.close();
      })();
      const got = unframe(await within(body, 10_000, "the request body"));
      await within(sending, 2000, "the sends");
      expect((await within(status, 2000, "the status")).code).toBe(0);
      expect(got.map((b) => b.length)).toEqual(SIZES);
      for (const [i, b] of got.entries()) expect(b.equals(sent[i] as Buffer), `message ${i}`).toBe(true);
    });

    it(`the server's responses (${compression}) and its status wait behind a client window of 0`, async () => {
      server = createServer().addService(BytesService, {
        echo: async (requests, responses) => {
          for await (const _ of requests);
          for (const [i, s] of SIZES.entries()) await responses.send(pattern(s, i * 5));
        },
      });
      const port = await server.listen(0);
      const session = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 0 } });
      session.on("error", () => {});
      stops.push(() => void session.destroy());
      const headers: Record<string, string> = { ":method": "POST", ":path": Bytes.path, ...GRPC_HEADERS };
      if (compression === "gzip") {
        headers["grpc-encoding"] = "gzip";
        headers["grpc-accept-encoding"] = "gzip";
      }
      const stream: ClientHttp2Stream = session.request(headers);
      stream.end(frameAll([], false));
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      let trailers: http2.IncomingHttpHeaders | undefined;
      let bytesAtTrailers = -1;
      stream.on("trailers", (t) => {
        trailers = t;
        bytesAtTrailers = chunks.reduce((n, c) => n + c.length, 0);
      });
      await sleep(100);
      session.settings({ initialWindowSize: 65_535 });
      await within(once(stream, "close"), 10_000, "the response");
      expect(trailers?.["grpc-status"]).toBe("0");
      const body = Buffer.concat(chunks);
      expect(bytesAtTrailers).toBe(body.length);
      const got = unframe(body);
      expect(got.map((b) => b.length)).toEqual(SIZES);
      for (const [i, b] of got.entries())
        expect(b.equals(pattern(SIZES[i] as number, i * 5)), `message ${i}`).toBe(true);
    });
  }
});

/** Sends each of `values` in turn, stopping at the first refusal; says what became of each. */
async function sendAll(send: (b: Buffer) => Promise<void>, values: Buffer[]): Promise<("sent" | unknown)[]> {
  const out: unknown[] = [];
  for (const v of values) {
    try {
      await send(v);
      out.push("sent");
    } catch (error) {
      out.push(error);
      break;
    }
  }
  return out;
}

describe("the call ends while large messages are queued behind the window", () => {
  for (const how of ["cancel", "deadline"] as const) {
    it(`a client ${how}: the parked send gets its value back, nothing throws, the handler is told`, async () => {
      let handlerSaw: unknown;
      server = createServer().addService(BytesService, {
        echo: async (_requests, _responses, context) => {
          // Never reads: the client's messages fill the windows and its queue.
          await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve()));
          handlerSaw = context.signal.reason;
        },
      });
      const port = await server.listen(0);
      const client = connect(`127.0.0.1:${port}`);
      stops.push(() => client.close());
      const values = Array.from({ length: 40 }, (_, i) => pattern(1 << 20, i));
      const caught = await uncaughtDuring(async () => {
        const call = client.bidiCall(Bytes, how === "deadline" ? { timeoutMs: 300 } : {});
        const outcome = sendAll((b) => call.tx.send(b), values);
        await sleep(150);
        if (how === "cancel") call.cancel();
        const status = await within(
          call.status.catch((e: unknown) => e),
          3000,
          "the status",
        );
        expect((status as { code: number }).code).toBe(
          how === "cancel" ? Code.CANCELLED : Code.DEADLINE_EXCEEDED,
        );
        const results = await within(outcome, 2000, "the sends");
        const last = results.at(-1);
        // Some went (the windows and the queue), then the parked one came back with its value.
        expect(results.length).toBeGreaterThan(1);
        expect(results.length).toBeLessThan(values.length);
        expect(last).toBeInstanceOf(SendError);
        expect((last as SendError<Buffer>).value).toBe(values[results.length - 1]);
        await within(
          (async () => {
            while (handlerSaw === undefined) await sleep(5);
          })(),
          2000,
          "the handler's cancel",
        );
      });
      expect(caught.map(String)).toEqual([]);
    });
  }

  it("a client that resets mid-response: the handler's parked send gets its value back", async () => {
    let outcome: Promise<unknown[]> | undefined;
    const values = Array.from({ length: 40 }, (_, i) => pattern(1 << 20, i));
    server = createServer().addService(BytesService, {
      echo: async (_requests, responses) => {
        outcome = sendAll((b) => responses.send(b), values);
        await outcome;
      },
    });
    const port = await server.listen(0);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    stops.push(() => void session.destroy());
    const caught = await uncaughtDuring(async () => {
      const stream = session.request({ ":method": "POST", ":path": Bytes.path, ...GRPC_HEADERS });
      stream.on("error", () => {});
      stream.end(frameAll([], false));
      // Never reads; resets once the handler's sends are parked.
      stream.pause();
      await sleep(150);
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await within(
        (async () => {
          while (outcome === undefined) await sleep(5);
        })(),
        2000,
        "the handler",
      );
      const results = await within(outcome as Promise<unknown[]>, 2000, "the handler's sends");
      const last = results.at(-1);
      expect(results.length).toBeGreaterThan(1);
      expect(results.length).toBeLessThan(values.length);
      expect(last).toBeInstanceOf(SendError);
      expect((last as SendError<Buffer>).value).toBe(values[results.length - 1]);
    });
    expect(caught.map(String)).toEqual([]);
  });
});
