/**
 * Hand-made HTTP/2 peers that held up: odd statuses and resets from a raw server reach the client as
 * errors at once; odd resets and bad timeouts from a raw client reach the handler as errors; peers
 * that never read do not make the other side buffer more than its capacity. Each raw peer faces both
 * transports' ends: the raw server every client, the raw client every server.
 */
import {
  type ClientHttp2Stream,
  connect,
  constants,
  createServer,
  type Http2Server,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { afterEach, describe, expect, it } from "vitest";
import { outcome, within } from "../../support/async.js";
import { OWN_CONNECTION } from "../../support/grpc.js";
import { type ClientUnderTest, type Handlers, TRANSPORTS, type Transport } from "../../support/transport.js";
import { frame } from "./helpers.js";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A client of `transport` to `port`, closed after the test. */
function clientOf(transport: Transport, port: number): ClientUnderTest {
  const client = transport.connect(`127.0.0.1:${port}`, { grpcJs: OWN_CONNECTION });
  closers.push(() => client.close());
  return client;
}

/** A server of `transport` with `handlers`, stopped after the test. */
async function serverOf(transport: Transport, handlers: Partial<Handlers>): Promise<{ port: number }> {
  const server = await transport.serve(handlers);
  closers.push(() => server.close());
  return server;
}

async function rawServer(onStream: (st: ServerHttp2Stream) => void): Promise<number> {
  const srv: Http2Server = createServer();
  const sessions = new Set<{ destroy(): void }>();
  srv.on("session", (s) => sessions.add(s));
  srv.on("stream", (st) => {
    st.on("error", () => {});
    st.resume();
    onStream(st);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  closers.push(() => {
    for (const s of sessions) s.destroy();
    srv.close();
  });
  return (srv.address() as AddressInfo).port;
}

/**
 * How many messages of `frameBytes` a peer that stopped reading has taken off the sender all the
 * same: its HTTP/2 stream window (the `initialWindowSize` it advertised, 65,535 bytes by default)
 * plus what its stream read ahead into its own buffer (Node's default highWaterMark: 16 KiB on
 * Node 20, 64 KiB from Node 22). A write that reached them has called back, so its send resolved.
 */
function onTheWire(peer: ServerHttp2Stream | ClientHttp2Stream | undefined, frameBytes: number): number {
  if (peer === undefined) throw new Error("the peer never saw the stream");
  const window = peer.session?.localSettings.initialWindowSize ?? 65_535;
  return Math.floor((window + peer.readableHighWaterMark) / frameBytes);
}

const grpcHeaders = { ":status": 200, "content-type": "application/grpc" };
const endWith =
  (trailers: Record<string, string>) =>
  (st: ServerHttp2Stream): void => {
    st.respond(grpcHeaders, { waitForTrailers: true });
    st.on("wantTrailers", () => st.sendTrailers(trailers));
    st.end(frame({ n: 1 }));
  };
const resetWith =
  (code: number) =>
  (st: ServerHttp2Stream): void => {
    st.respond(grpcHeaders);
    st.write(frame({ n: 1 }), () => st.close(code));
  };

describe.each(TRANSPORTS)(
  "a raw HTTP/2 server answers oddly: the $name client's handles settle at once",
  (transport) => {
    // Bad percent-encoding: grpc-js gives the raw text; h2 decodes the valid parts and keeps the
    // broken ones (an incomplete UTF-8 sequence becomes U+FFFD), which PROTOCOL-HTTP2.md allows too.
    const badPercent = transport.name === "grpc-js" ? "%E0%A4%A%ZZ%" : "\uFFFD%A%ZZ%";
    const cases: [string, (st: ServerHttp2Stream) => void, number, string?][] = [
      ["grpc-status 99", endWith({ "grpc-status": "99", "grpc-message": "weird" }), status.UNKNOWN, "weird"],
      ['grpc-status "abc"', endWith({ "grpc-status": "abc" }), status.UNKNOWN],
      ["trailers without grpc-status", endWith({ foo: "bar" }), status.UNKNOWN],
      [
        "grpc-message with bad percent-encoding",
        endWith({ "grpc-status": "3", "grpc-message": "%E0%A4%A%ZZ%" }),
        3,
        badPercent,
      ],
      ["RST_STREAM NO_ERROR without a status", resetWith(constants.NGHTTP2_NO_ERROR), status.INTERNAL],
      ["RST_STREAM PROTOCOL_ERROR", resetWith(constants.NGHTTP2_PROTOCOL_ERROR), status.INTERNAL],
      ["RST_STREAM 0xdead", resetWith(0xdead), status.INTERNAL],
      [
        "RST_STREAM REFUSED_STREAM before headers",
        (st) => st.close(constants.NGHTTP2_REFUSED_STREAM),
        status.UNAVAILABLE,
      ],
      ["HTTP 500", (st) => st.respond({ ":status": 500 }, { endStream: true }), status.UNKNOWN],
    ];
    for (const [label, behave, code, details] of cases) {
      it(`${label}: rx and status reject with ${status[code]}, a later send is refused with SendError`, async () => {
        const port = await rawServer(behave);
        const call = clientOf(transport, port).chat();
        const rx = outcome(
          (async () => {
            for await (const _ of call.rx);
          })(),
        );
        const st = await within(outcome(call.status), 2000, "status");
        expect(st.error).toMatchObject({ code, ...(details === undefined ? {} : { details }) });
        expect((await within(rx, 500, "rx")).error).toMatchObject({ code });
        expect((await outcome(call.tx.send({ n: 2 }))).error).toBeInstanceOf(SendError);
      });
    }

    it("a server that never reads: at most requestCapacity sends resolve beyond what its window and stream buffer took", async () => {
      let peer: ServerHttp2Stream | undefined;
      const port = await rawServer((st) => {
        peer = st;
        st.pause();
        st.respond(grpcHeaders);
      });
      const call = clientOf(transport, port).chat();
      let sent = 0;
      const big = "z".repeat(64 * 1024);
      void (async () => {
        for (;;) {
          await call.tx.send({ n: sent, text: big });
          sent++;
        }
      })().catch(() => {});
      await new Promise((r) => setTimeout(r, 800));
      call.cancel();
      expect(sent).toBeGreaterThanOrEqual(16);
      expect(sent).toBeLessThanOrEqual(16 + onTheWire(peer, frame({ n: 0, text: big }).length));
    });
  },
);

describe.each(TRANSPORTS)(
  "a raw HTTP/2 client behaves oddly: the $name handler's handles settle",
  (transport) => {
    interface Seen {
      requests?: unknown;
      sendError?: unknown;
      aborted?: boolean;
    }
    async function recorder(): Promise<{ port: number; seen: Seen; done: Promise<void> }> {
      const seen: Seen = {};
      let finished: () => void = () => {};
      const done = new Promise<void>((r) => (finished = r));
      const h = await serverOf(transport, {
        chat: async (requests, responses, ctx) => {
          const reading = (async () => {
            try {
              for await (const _ of requests);
              seen.requests = "end";
            } catch (err) {
              seen.requests = err;
            }
          })();
          try {
            for (let n = 0; ; n++) {
              await responses.send({ n });
              await new Promise((r) => setTimeout(r, 5));
            }
          } catch (err) {
            seen.sendError = err;
          }
          await reading;
          seen.aborted = ctx.signal.aborted;
          finished();
        },
      });
      return { port: h.port, seen, done };
    }
    function open(port: number, extra: Record<string, string> = {}): ClientHttp2Stream {
      const session = connect(`http://127.0.0.1:${port}`);
      session.on("error", () => {});
      closers.push(() => session.destroy());
      const st = session.request({
        ":method": "POST",
        ":path": "/test.Test/Chat",
        "content-type": "application/grpc",
        te: "trailers",
        ...extra,
      });
      st.on("error", () => {});
      st.resume();
      return st;
    }

    for (const [label, code] of [
      ["RST_STREAM NO_ERROR without END_STREAM", constants.NGHTTP2_NO_ERROR],
      ["RST_STREAM PROTOCOL_ERROR", constants.NGHTTP2_PROTOCOL_ERROR],
      ["RST_STREAM REFUSED_STREAM", constants.NGHTTP2_REFUSED_STREAM],
      ["RST_STREAM 0xdead", 0xdead],
    ] as const) {
      it(`${label} mid-stream: requests rejects with CANCELLED (not an end), the send loop gets SendError, ctx.signal aborted`, async () => {
        const { port, seen, done } = await recorder();
        const st = open(port);
        st.write(frame({ n: 1 }), () => st.close(code));
        await within(done, 2000, "the handler");
        expect(seen.requests).toMatchObject({ code: status.CANCELLED });
        expect(seen.sendError).toBeInstanceOf(SendError);
        expect(seen.aborted).toBe(true);
      });
    }

    // The h2 server reads grpc-timeout before it starts a handler (test/h2/hostile.test.ts).
    it('grpc-timeout "abc": the call ends INTERNAL (grpc-js: the handler\'s requests rejects with it; h2: answered before any handler runs)', async () => {
      const { port, seen, done } = await recorder();
      const st = open(port, { "grpc-timeout": "abc" });
      const trailers = new Promise<Record<string, unknown>>((resolve) => {
        st.on("response", (headers) => {
          if (headers["grpc-status"] !== undefined) resolve(headers);
        });
        st.on("trailers", resolve);
      });
      st.write(frame({ n: 1 }));
      if (transport.name === "grpc-js") {
        await within(done, 2000, "the handler");
        expect(seen.requests).toMatchObject({ code: status.INTERNAL });
      } else {
        expect((await within(trailers, 2000, "the status"))["grpc-status"]).toBe(String(status.INTERNAL));
        expect(seen).toEqual({});
      }
    });

    it("a client that never reads: at most responseCapacity responses are handed over beyond what its window and stream buffer took", async () => {
      let sent = 0;
      const h = await serverOf(transport, {
        chat: async (_requests, responses) => {
          const big = "y".repeat(64 * 1024);
          for (;;) {
            await responses.send({ n: sent, text: big });
            sent++;
          }
        },
      });
      const st = open(h.port);
      st.pause();
      await new Promise((r) => setTimeout(r, 800));
      const stalled = sent;
      await new Promise((r) => setTimeout(r, 200));
      expect(sent).toBe(stalled); // the handler waits, it does not keep handing responses over
      // grpc-js takes responseCapacity responses before it pushes back; h2's writer parks a send as soon
      // as node:http2 reports its stream buffer full, here after one 64 KiB response (docs/guarantees.md).
      expect(sent).toBeGreaterThanOrEqual(transport.name === "grpc-js" ? 16 : 1);
      expect(sent).toBeLessThanOrEqual(
        16 + onTheWire(st, frame({ n: 0, text: "y".repeat(64 * 1024) }).length),
      );
    });
  },
);
