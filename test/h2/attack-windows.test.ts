/**
 * A hostile review of the large-message and window commit (620b3a7): a client closed while its
 * session still connects, with a connection window set; windows of 0; large messages through a
 * window a raw peer opens a byte at a time; cancels and resets while pieces are queued.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer, type Socket } from "node:net";
import { connect, createServer, type H2Server, type MethodDefinition } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { sleep, within } from "../support/async.js";

const same = (b: Buffer): Buffer => b;
/** A bidi method of raw bytes: its serializers hand the buffers through as they are. */
const Bytes = {
  path: "/test.Bytes/Echo",
  requestStream: true,
  responseStream: true,
  requestSerialize: same,
  requestDeserialize: same,
  responseSerialize: same,
  responseDeserialize: same,
} satisfies MethodDefinition<Buffer, Buffer>;
const BytesService = { echo: Bytes };

/** `size` bytes, each `(seed + i) % 251`: a message whose every byte says where it belongs. */
const pattern = (size: number, seed: number): Buffer => {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (seed + i) % 251;
  return b;
};

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
