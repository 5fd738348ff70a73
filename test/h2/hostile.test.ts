/**
 * The h2 server against a hostile HTTP/2 peer (a raw `node:http2` client): every piece of bad input
 * gets a clear answer (a gRPC status, or the HTTP status the gRPC spec names) and nothing else, and
 * the server keeps serving other calls; floods of streams left open or reset at once leave its memory
 * bounded and its handlers ended.
 */
import { constants } from "node:http2";
import { gzipSync } from "node:zlib";
import { Code } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { frameAll } from "../../src/h2/framing.js";
import { sleep, within } from "../support/async.js";
import { GRPC_HEADERS, json, memoryMiB, rawRequest, rawSessions, stillServes } from "../support/h2-raw.js";
import { h2Transport, type ServerUnderTest, type ServeSetup } from "../support/transport.js";

let server: ServerUnderTest | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Handlers running now. */
let live = 0;

/**
 * The test service on the h2 server: `chat` echoes, except that a request `{ n: -1 }` is answered
 * with the metadata the handler was given under `probe` keys (to see what reserved headers became).
 */
async function serve(setup?: ServeSetup): Promise<number> {
  live = 0;
  server = await h2Transport.serve(
    {
      chat: async (requests, responses, ctx) => {
        live++;
        try {
          for await (const r of requests) {
            if (r.n !== -1) await responses.send(r);
            else {
              const seen = ["grpc-status", "grpc-message", "grpc-foo", "te", "x-ok"].map(
                (k) => `${k}=${ctx.metadata.get(k).join(",")}`,
              );
              await responses.send({ n: -1, text: seen.join(";") });
            }
          }
        } finally {
          live--;
        }
      },
    },
    setup,
  );
  return server.port;
}

/** Waits (2 s at most) until no handler runs. */
async function handlersEnded(): Promise<void> {
  await within(
    (async () => {
      while (live > 0) await sleep(10);
    })(),
    5000,
    `the handlers to end (${live} running)`,
  );
}

interface BadInput {
  name: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The gRPC status, or `http <status>` for an answer that is not gRPC's. */
  answer: number | `http ${number}`;
  /** Part of `grpc-message`. */
  says?: string;
}

const prefix = (flag: number, length: number): Buffer => {
  const b = Buffer.alloc(5);
  b[0] = flag;
  b.writeUInt32BE(length, 1);
  return b;
};

const BAD_INPUT: BadInput[] = [
  {
    name: "a content-type that is not gRPC",
    headers: { "content-type": "application/json" },
    answer: "http 415",
  },
  { name: "no content-type", headers: { te: "trailers" }, answer: "http 415" },
  { name: "a GET", headers: { ...GRPC_HEADERS, ":method": "GET" }, answer: "http 405" },
  {
    name: "an unknown method",
    headers: { ...GRPC_HEADERS, ":path": "/test.Test/Nope" },
    answer: Code.UNIMPLEMENTED,
    says: "/test.Test/Nope",
  },
  {
    name: "an unknown service",
    headers: { ...GRPC_HEADERS, ":path": "/no.Such/Chat" },
    answer: Code.UNIMPLEMENTED,
    says: "/no.Such/Chat",
  },
  ...["12parsecs", "123456789S", "-1S", "1.5S", "S", "10", "10 S"].map(
    (timeout): BadInput => ({
      name: `grpc-timeout ${JSON.stringify(timeout)}`,
      headers: { ...GRPC_HEADERS, "grpc-timeout": timeout },
      answer: Code.INTERNAL,
      says: timeout,
    }),
  ),
  {
    name: "an unsupported grpc-encoding",
    headers: { ...GRPC_HEADERS, "grpc-encoding": "snappy" },
    answer: Code.UNIMPLEMENTED,
    says: "snappy",
  },
  {
    name: "a -bin header that is not base64",
    headers: { ...GRPC_HEADERS, "x-trace-bin": "!!not base64!!" },
    answer: Code.INTERNAL,
    says: "x-trace-bin",
  },
  {
    name: "a compressed flag without grpc-encoding",
    headers: GRPC_HEADERS,
    body: frameAll([json({ n: 1 })], true),
    answer: Code.INTERNAL,
  },
  {
    name: "a compressed flag that is neither 0 nor 1",
    headers: GRPC_HEADERS,
    body: Buffer.concat([prefix(2, 2), Buffer.from("{}")]),
    answer: Code.INTERNAL,
  },
  {
    name: "gzip announced, bytes that are not gzip",
    headers: { ...GRPC_HEADERS, "grpc-encoding": "gzip" },
    body: Buffer.concat([prefix(1, 4), Buffer.from("nope")]),
    answer: Code.INTERNAL,
  },
  {
    name: "a length prefix over the max receive size",
    headers: GRPC_HEADERS,
    body: prefix(0, 4097),
    answer: Code.RESOURCE_EXHAUSTED,
  },
  {
    name: "gzip that inflates over the max receive size",
    headers: { ...GRPC_HEADERS, "grpc-encoding": "gzip" },
    body: frameAll([gzipSync(Buffer.alloc(64 * 1024, 0x20))], true),
    answer: Code.RESOURCE_EXHAUSTED,
  },
  {
    name: "a truncated length prefix, then the end of the stream",
    headers: GRPC_HEADERS,
    body: Buffer.from([0, 0, 0]),
    answer: Code.INTERNAL,
  },
  {
    name: "a message shorter than its prefix says, then the end of the stream",
    headers: GRPC_HEADERS,
    body: Buffer.concat([prefix(0, 10), Buffer.from("{}")]),
    answer: Code.INTERNAL,
  },
  {
    name: "bytes that do not decode",
    headers: GRPC_HEADERS,
    body: frameAll([Buffer.from("{not json")], false),
    answer: Code.INTERNAL,
  },
];

describe("the h2 server answers bad input with a clear status, and keeps serving", () => {
  it.each(BAD_INPUT)("$name", async ({ headers, body, answer, says }) => {
    const port = await serve({ maxReceiveMessageLength: 4096 });
    const res = await rawRequest(port, headers, body);
    if (typeof answer === "string") {
      expect(`http ${res.headers[":status"]}`).toBe(answer);
      expect(res.body.length).toBe(0);
    } else {
      expect(res.headers[":status"]).toBe(200);
      expect(res.grpcStatus, res.grpcMessage).toBe(String(answer));
      if (says !== undefined) expect(res.grpcMessage).toContain(says);
    }
    await stillServes(port);
    await handlersEnded();
  });

  it("a request without te: trailers is served (as grpc-js and grpc-go serve it)", async () => {
    const port = await serve();
    const res = await rawRequest(
      port,
      { "content-type": "application/grpc" },
      frameAll([json({ n: 5 })], false),
    );
    expect(res.grpcStatus).toBe(String(Code.OK));
    expect(res.body.equals(frameAll([json({ n: 5 })], false))).toBe(true);
  });

  it("reserved headers a client sends are not handed to the handler as metadata; the call is served", async () => {
    const port = await serve();
    const res = await rawRequest(
      port,
      { ...GRPC_HEADERS, "grpc-status": "5", "grpc-message": "forged", "grpc-foo": "x", "x-ok": "yes" },
      frameAll([json({ n: -1 })], false),
    );
    expect(res.grpcStatus).toBe(String(Code.OK));
    const answer = JSON.parse(res.body.subarray(5).toString()) as { text: string };
    expect(answer.text).toBe("grpc-status=;grpc-message=;grpc-foo=;te=;x-ok=yes");
  });
});

/** Resolves once `session` has `count` streams answered or closed, or the session itself closed. */
function settled(streams: { closed: boolean }[], answered: () => number, count: number): Promise<void> {
  return (async () => {
    while (answered() < count && !streams.every((s) => s.closed)) await sleep(10);
  })();
}

describe("floods: memory stays bounded and the server keeps serving", () => {
  const sessions = rawSessions();
  const FLOOD = 3000;

  it(`a HEADERS flood: ${FLOOD} calls opened on one connection and left open`, async () => {
    const port = await serve();
    await stillServes(port); // warm: the first call's allocations are not the flood's
    const before = await memoryMiB();
    const session = sessions.open(port);
    const streams = Array.from({ length: FLOOD }, () => {
      const stream = session.request({ ":method": "POST", ":path": "/test.Test/Chat", ...GRPC_HEADERS });
      stream.on("error", () => {});
      return stream;
    });
    await within(
      settled(streams, () => live, FLOOD),
      15_000,
      "the flood to reach the handlers",
    );
    const during = await memoryMiB();
    const running = live;
    await stillServes(port);
    session.destroy();
    await handlersEnded();
    const after = await memoryMiB();
    console.log(
      `HEADERS flood: ${running} of ${FLOOD} handlers running at once; RSS ${before.rss.toFixed(0)} -> ${during.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MiB, heap ${before.heap.toFixed(0)} -> ${during.heap.toFixed(0)} -> ${after.heap.toFixed(0)} MiB`,
    );
    expect(running).toBeGreaterThan(0);
    expect(during.rss - before.rss).toBeLessThan(256);
    expect(after.heap - before.heap).toBeLessThan(16);
  }, 30_000);

  it(`rapid reset: ${FLOOD} streams opened and reset at once on one connection`, async () => {
    const port = await serve();
    await stillServes(port);
    const before = await memoryMiB();
    const session = sessions.open(port);
    const streams = Array.from({ length: FLOOD }, () => {
      const stream = session.request(
        { ":method": "POST", ":path": "/test.Test/Chat", ...GRPC_HEADERS },
        { endStream: false },
      );
      stream.on("error", () => {});
      stream.close(constants.NGHTTP2_CANCEL);
      return stream;
    });
    await within(
      (async () => {
        while (!streams.every((s) => s.closed)) await sleep(10);
      })(),
      15_000,
      "every reset stream to close",
    );
    await stillServes(port);
    await handlersEnded();
    const after = await memoryMiB();
    console.log(
      `rapid reset: ${FLOOD} streams reset, session ${session.destroyed ? "closed by the server" : "still open"}; RSS ${before.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MiB, heap ${before.heap.toFixed(0)} -> ${after.heap.toFixed(0)} MiB`,
    );
    expect(after.rss - before.rss).toBeLessThan(128);
    expect(after.heap - before.heap).toBeLessThan(16);
  }, 30_000);
});
