/**
 * The fourth hostile review of the h2 transport, from the other side of the wire. The h2 client
 * against a server written frame by frame on a TCP socket: a complete response (every message, then
 * the trailers' OK) followed by an RST_STREAM other than NO_ERROR, or by GOAWAY and the connection's
 * close, while the client's `rx` is full and Node holds the rest of the response for it. The h2
 * server against a raw `node:http2` client whose window is 0: a handler that returned OK while its
 * responses (and so its status) wait behind the window, past the call's deadline and the server's
 * shutdown grace; and a raw client that reads its status but never ends its side, past the grace.
 */
import { type ClientHttp2Stream, constants, connect as http2Connect } from "node:http2";
import type { Socket } from "node:net";
import { Code, connect, createServer, GrpcError } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { frameAll } from "../../src/h2/framing.js";
import { sleep, within } from "../support/async.js";
import {
  Bytes,
  BytesService,
  DATA,
  END_HEADERS,
  END_STREAM,
  GOAWAY,
  GRPC_HEADERS,
  HEADERS,
  hpack,
  json,
  RST_STREAM,
  rawFrame,
  rawRequest,
  wireServer as rawWireServer,
} from "../support/h2-raw.js";
import { H2TestService } from "../support/transport.js";

const stops: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

// ---------------------------------------------------------------------------------------------------
// A server that writes HTTP/2 frames by hand.

const OK_HEADERS = hpack([
  [":status", "200"],
  ["content-type", "application/grpc"],
]);

/** A server writing frames by hand ({@link rawWireServer}), stopped after the test. */
async function wireServer(
  answer: (stream: number) => Buffer[],
  after?: (socket: Socket) => void,
): Promise<number> {
  const { port, close } = await rawWireServer(answer, after);
  stops.push(close);
  return port;
}

const MESSAGES = 40;

/** Every message in a DATA frame of its own (so that Node holds them as chunks), then OK trailers. */
const completeResponse = (stream: number): Buffer[] => [
  rawFrame(HEADERS, END_HEADERS, stream, OK_HEADERS),
  ...Array.from({ length: MESSAGES }, (_, n) => rawFrame(DATA, 0, stream, frameAll([json({ n })], false))),
  rawFrame(HEADERS, END_HEADERS | END_STREAM, stream, hpack([["grpc-status", "0"]])),
];

/** The code a call's status ends with, OK or not (3 s at most). */
const codeOf = (status: Promise<{ code: number }>): Promise<number> =>
  within(
    status.then(
      (s) => s.code,
      (e: GrpcError) => e.code,
    ),
    3000,
    "the status",
  );

/** A chat call whose rx is read only once the server is done: what it got, how rx ended, the status. */
async function readLate(
  port: number,
): Promise<{ got: number; rx: string | number; status: string | number }> {
  const client = connect(`127.0.0.1:${port}`);
  stops.push(() => client.close());
  const call = client.bidiCall(H2TestService.chat, { timeoutMs: 5000 });
  await sleep(300); // the whole response, and what followed it, is in
  let got = 0;
  let rx: string | number = "end";
  try {
    for await (const _ of call.rx) got++;
  } catch (error) {
    rx = (error as GrpcError).code;
  }
  const status = await codeOf(call.status);
  return { got, rx, status };
}

describe("the h2 client: a complete response, then the stream or the connection goes, while rx is full", () => {
  it.each([
    ["PROTOCOL_ERROR", constants.NGHTTP2_PROTOCOL_ERROR],
    ["INTERNAL_ERROR", constants.NGHTTP2_INTERNAL_ERROR],
    ["CANCEL", constants.NGHTTP2_CANCEL],
  ])("OK trailers, then RST_STREAM %s: every message arrives, then OK", async (_name, code) => {
    const rst = Buffer.alloc(4);
    rst.writeUInt32BE(code);
    const port = await wireServer((stream) => [
      ...completeResponse(stream),
      rawFrame(RST_STREAM, 0, stream, rst),
    ]);
    // Before the fix: 17 messages (rx's 16 and the reader's one), rx ended cleanly and the status was
    // OK: the 23 messages Node held for the paused stream went with its reset, and nobody said so.
    expect(await readLate(port)).toEqual({ got: MESSAGES, rx: "end", status: Code.OK });
  });

  it("OK trailers, then GOAWAY and the connection closed (a server shutting down): every message arrives, then OK", async () => {
    const port = await wireServer(
      (stream) => {
        const goaway = Buffer.alloc(8);
        goaway.writeUInt32BE(stream, 0);
        return [...completeResponse(stream), rawFrame(GOAWAY, 0, 0, goaway)];
      },
      (socket) => setTimeout(() => socket.end(), 50),
    );
    expect(await readLate(port)).toEqual({ got: MESSAGES, rx: "end", status: Code.OK });
  });
});

// ---------------------------------------------------------------------------------------------------
// The h2 server against a client whose window is 0.

/**
 * An h2 server whose Bytes handler sends one response of 1 KiB and returns (OK); a raw client that
 * announces a window of 0 calls it with `headers`: the response and the status wait behind the window.
 */
async function heldOkCall(headers: Record<string, string>): Promise<{
  server: ReturnType<typeof createServer>;
  stream: ClientHttp2Stream;
  returned: Promise<void>;
}> {
  let returned!: () => void;
  const handlerReturned = new Promise<void>((resolve) => {
    returned = resolve;
  });
  const server = createServer().addService(BytesService, {
    echo: async (requests, responses) => {
      for await (const _ of requests);
      await responses.send(Buffer.alloc(1024, 7));
      returned();
    },
  });
  const port = await server.listen(0);
  stops.push(() => server.forceShutdown());
  const session = http2Connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 0 } });
  session.on("error", () => {});
  stops.push(() => void session.destroy());
  const stream = session.request({ ":method": "POST", ":path": Bytes.path, ...GRPC_HEADERS, ...headers });
  stream.on("error", () => {});
  stream.end();
  return { server, stream, returned: within(handlerReturned, 3000, "the handler to return") };
}

const closed = (stream: ClientHttp2Stream): Promise<number | undefined> =>
  new Promise((resolve) => {
    if (stream.closed) resolve(stream.rstCode);
    else stream.once("close", () => resolve(stream.rstCode));
  });

describe("the h2 server: a handler that returned OK while its status waits behind a window of 0", () => {
  it("shutdown(grace) still ends at the grace: the stream is reset, not held by the client for ever", async () => {
    const { server, stream, returned } = await heldOkCall({});
    await returned;
    const started = Date.now();
    // Before the fix: the call was forgotten once its OK was queued, so the grace ended nothing and
    // the shutdown waited for the client to open its window, which it never does.
    await within(server.shutdown(200), 3000, "the shutdown");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await within(closed(stream), 1000, "the stream's close")).toBe(constants.NGHTTP2_CANCEL);
  });

  it("its deadline still ends it: the stream is reset at the deadline", async () => {
    const { stream, returned } = await heldOkCall({ "grpc-timeout": "300m" });
    await returned;
    // Before the fix: the deadline's timer was cleared with the OK, and the stream stayed open.
    expect(await within(closed(stream), 3000, "the stream's close after the deadline")).toBe(
      constants.NGHTTP2_CANCEL,
    );
  });
});

describe("the h2 server: a client that reads the status but never ends its side", () => {
  async function heldOpen(handler: "returns" | "runs" | "fails"): Promise<{
    server: ReturnType<typeof createServer>;
    stream: ClientHttp2Stream;
    trailers: () => Record<string, unknown> | undefined;
  }> {
    const server = createServer().addService(BytesService, {
      echo: async (_requests, responses, ctx) => {
        if (handler === "fails") throw new GrpcError(Code.NOT_FOUND, "no such thing"); // trailers-only
        await responses.send(Buffer.alloc(10, 1));
        if (handler === "runs") await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      },
    });
    const port = await server.listen(0);
    stops.push(() => server.forceShutdown());
    const session = http2Connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    stops.push(() => void session.destroy());
    const stream = session.request({ ":method": "POST", ":path": Bytes.path, ...GRPC_HEADERS });
    stream.on("error", () => {});
    stream.on("data", () => {});
    let got: Record<string, unknown> | undefined;
    stream.on("trailers", (t) => {
      got = t;
    });
    stream.on("response", (h) => {
      if (h["grpc-status"] !== undefined) got = h;
    });
    await sleep(100); // the response is in; the handler returned, or runs on
    return { server, stream, trailers: () => got };
  }

  it("after an OK status: shutdown(grace) ends at the grace, the client has its OK, then RST_STREAM NO_ERROR", async () => {
    const { server, stream, trailers } = await heldOpen("returns");
    expect(trailers()?.["grpc-status"]).toBe("0");
    // Before the fix: the call was forgotten at its trailers, and Node's session waited for the
    // stream, which the client never ends: the shutdown never settled.
    await within(server.shutdown(200), 3000, "the shutdown");
    expect(await within(closed(stream), 1000, "the stream's close")).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it("a call still running at the grace's end: the client gets UNAVAILABLE in the trailers, then the stream closes", async () => {
    const { server, stream, trailers } = await heldOpen("runs");
    await within(server.shutdown(200), 3000, "the shutdown");
    expect(await within(closed(stream), 1000, "the stream's close")).toBe(constants.NGHTTP2_NO_ERROR);
    expect(trailers()?.["grpc-status"]).toBe(String(Code.UNAVAILABLE));
  });

  it("after a trailers-only error: shutdown(grace) ends at the grace, the client has its status, then RST_STREAM NO_ERROR", async () => {
    const { server, stream, trailers } = await heldOpen("fails");
    expect(trailers()?.["grpc-status"]).toBe(String(Code.NOT_FOUND));
    await within(server.shutdown(200), 3000, "the shutdown");
    expect(await within(closed(stream), 1000, "the stream's close")).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it("streams answered without a call (an unknown method; HTTP 415), held open: shutdown(grace) ends, and closes them", async () => {
    let release!: () => void;
    const server = createServer().addService(BytesService, {
      echo: (_requests, _responses, ctx) =>
        new Promise<void>((resolve) => {
          release = resolve;
          ctx.signal.addEventListener("abort", () => resolve());
        }),
    });
    const port = await server.listen(0);
    stops.push(() => server.forceShutdown());
    const session = http2Connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    stops.push(() => void session.destroy());
    const open = (path: string, contentType: string): ClientHttp2Stream => {
      const stream = session.request({ ":method": "POST", ":path": path, "content-type": contentType });
      stream.on("error", () => {});
      stream.on("data", () => {});
      return stream;
    };
    const running = open(Bytes.path, "application/grpc"); // a call, so that the grace is waited for
    const held = [open("/nope.Nope/Nope", "application/grpc"), open(Bytes.path, "text/plain")];
    await sleep(100);
    const shutdown = server.shutdown(300);
    // Before the fix: nothing closed these streams, and Node's session waited for them for ever.
    await within(shutdown, 3000, "the shutdown");
    for (const stream of held) {
      expect(await within(closed(stream), 1000, "a held stream's close")).toBe(constants.NGHTTP2_NO_ERROR);
    }
    release();
    expect(running.closed).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------
// A deserializer that returns undefined for some bytes (here: an empty message), which a peer sends.

const same = (b: Buffer): Buffer => b;
const undefinedWhenEmpty = (b: Buffer): Buffer => (b.length === 0 ? undefined : b) as Buffer;
const Picky = {
  ...Bytes,
  path: "/test.Picky/Echo",
  requestDeserialize: undefinedWhenEmpty,
  responseDeserialize: undefinedWhenEmpty,
  responseSerialize: same,
};

describe("a deserializer that returns undefined for what the peer sent", () => {
  it("on the server: the call ends INTERNAL, and nothing is thrown out of the stream's listener", async () => {
    const errors: unknown[] = [];
    const server = createServer({ onError: (e) => errors.push(e) }).addService(
      { echo: Picky },
      {
        echo: async (requests, responses) => {
          for await (const r of requests) await responses.send(r);
        },
      },
    );
    const port = await server.listen(0);
    stops.push(() => server.forceShutdown());
    // Before the fix: the TypeError was thrown from the 'data' listener (an uncaught exception, which
    // ends a server process), and the call ended OK.
    const answer = await rawRequest(
      port,
      { ":path": Picky.path, ...GRPC_HEADERS },
      frameAll([Buffer.alloc(0)], false),
    );
    expect(answer.grpcStatus).toBe(String(Code.INTERNAL));
    expect(answer.grpcMessage).toMatch(/could not be deserialized: cannot send undefined/);
    expect(errors).toEqual([]);
  });

  it("on the client: the call ends INTERNAL, rx rejects, and nothing is thrown", async () => {
    const port = await wireServer((stream) => [
      rawFrame(HEADERS, END_HEADERS, stream, OK_HEADERS),
      rawFrame(DATA, 0, stream, frameAll([Buffer.alloc(0)], false)),
      rawFrame(HEADERS, END_HEADERS | END_STREAM, stream, hpack([["grpc-status", "0"]])),
    ]);
    const client = connect(`127.0.0.1:${port}`);
    stops.push(() => client.close());
    const call = client.bidiCall(Picky, { timeoutMs: 3000 });
    call.tx.close();
    const rx = await within(
      call.rx.recv().then(String, (e: GrpcError) => e.code),
      3000,
      "rx",
    );
    const status = await codeOf(call.status);
    expect({ rx, status }).toEqual({ rx: Code.INTERNAL, status: Code.INTERNAL });
  });
});
