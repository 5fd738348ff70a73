/**
 * Large messages and flow control on the h2 transport: bursts wait behind a shut window in order, a
 * sender reusing what it sent once `send` resolves changes nothing on the wire, and the window
 * options reach the peer as SETTINGS and WINDOW_UPDATE.
 */
import { once } from "node:events";
import http2, { type ClientHttp2Session, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import type { Receiver } from "grpc-mpsc";
import { connect, createServer, type H2Server, type MethodDefinition } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { within } from "../support/async.js";
import { Bytes, BytesService, pattern, rawSession } from "../support/h2-raw.js";

let server: H2Server | undefined;
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
  server?.forceShutdown();
  server = undefined;
});

/** Resolves once `check` holds (polled every 5 ms), or rejects after 2 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within 2000 ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("large messages through a shut window", () => {
  it("a burst of mixed sizes queued while the server does not read arrives whole and in order", async () => {
    let release: () => void = () => {};
    const reading = new Promise<void>((r) => (release = r));
    server = createServer().addService(BytesService, {
      echo: async (requests, responses) => {
        await reading;
        for await (const m of requests) await responses.send(m);
      },
    });
    const port = await server.listen(0);
    const client = connect(`127.0.0.1:${port}`);
    closers.push(() => client.close());
    const sizes = [10, 20_000, 3, 70_000, 0, 1024 * 1024, 5, 16 * 1024, 1];
    const sent = sizes.map((s, i) => pattern(s, i * 7));
    const { tx, rx, status } = client.bidiCall(Bytes);
    // The sends beyond the window wait; all of them are queued before the server reads any.
    const sending = (async () => {
      for (const m of sent) await tx.send(m);
      tx.close();
    })();
    await new Promise((r) => setTimeout(r, 50));
    release();
    const got: Buffer[] = [];
    await within(
      (async () => {
        for await (const m of rx) got.push(m);
      })(),
      10_000,
      "the echo",
    );
    await sending;
    await status;
    expect(got.map((b) => b.length)).toEqual(sizes);
    for (const [i, b] of got.entries()) expect(b.equals(sent[i] as Buffer), `message ${i}`).toBe(true);
  });

  /**
   * Sends one 48 KiB buffer six times on `method`, filled anew with 1..6 before each send (the window,
   * 64 KiB, holds most of them back while the handler waits), then with 0xee; returns what the
   * handler read, as copies.
   */
  async function reusedBuffer<M>(
    method: MethodDefinition<M, Buffer>,
    wrap: (buffer: Buffer) => M,
    unwrap: (message: M) => Buffer,
  ): Promise<Buffer[]> {
    const seen: Buffer[] = [];
    let release: () => void = () => {};
    const reading = new Promise<void>((r) => (release = r));
    server = createServer().addService(
      { echo: method },
      {
        echo: async (requests: Receiver<M>) => {
          await reading;
          for await (const m of requests) seen.push(Buffer.from(unwrap(m)));
        },
      },
    );
    const port = await server.listen(0);
    const client = connect(`127.0.0.1:${port}`);
    closers.push(() => client.close());
    const { tx, status } = client.bidiCall(method);
    const buffer = Buffer.alloc(48 * 1024);
    const sending = (async () => {
      for (let k = 1; k <= 6; k++) {
        buffer.fill(k);
        await tx.send(wrap(buffer));
      }
      buffer.fill(0xee);
      tx.close();
    })();
    await new Promise((r) => setTimeout(r, 50));
    release();
    await within(sending, 5000, "the sends");
    await status;
    return seen;
  }

  it("a client reusing its buffer once send resolves changes nothing the server reads", async () => {
    const seen = await reusedBuffer(
      Bytes,
      (b) => b,
      (m) => m,
    );
    expect(seen.map((b) => [b.length, b[0], b.every((x) => x === b[0])])).toEqual(
      [1, 2, 3, 4, 5, 6].map((k) => [48 * 1024, k, true]),
    );
  });

  it("a sender reusing a buffer its message holds (a serializer returning it) changes nothing the server reads", async () => {
    const Held = {
      ...Bytes,
      requestSerialize: (m: { data: Buffer }) => m.data,
      requestDeserialize: (b: Buffer) => ({ data: b }),
    } satisfies MethodDefinition<{ data: Buffer }, Buffer>;
    const seen = await reusedBuffer(
      Held,
      (data) => ({ data }),
      (m) => m.data,
    );
    expect(seen.map((b) => [b.length, b[0], b.every((x) => x === b[0])])).toEqual(
      [1, 2, 3, 4, 5, 6].map((k) => [48 * 1024, k, true]),
    );
  });

  it("a handler reusing its buffer once send resolves changes nothing the client reads", async () => {
    server = createServer().addService(BytesService, {
      echo: async (_requests, responses) => {
        const buffer = Buffer.alloc(40 * 1024);
        for (let k = 1; k <= 6; k++) {
          buffer.fill(k);
          await responses.send(buffer);
        }
        buffer.fill(0xee);
      },
    });
    const port = await server.listen(0);
    const client = connect(`127.0.0.1:${port}`);
    closers.push(() => client.close());
    const { tx, rx, status } = client.bidiCall(Bytes);
    tx.close();
    // The client reads late: the handler's sends pile up behind the window meanwhile.
    await new Promise((r) => setTimeout(r, 50));
    const got: Buffer[] = [];
    await within(
      (async () => {
        for await (const m of rx) got.push(Buffer.from(m));
      })(),
      5000,
      "the responses",
    );
    await status;
    expect(got.map((b) => [b.length, b[0], b.every((x) => x === b[0])])).toEqual(
      [1, 2, 3, 4, 5, 6].map((k) => [40 * 1024, k, true]),
    );
  });
});

describe("window options", () => {
  it("the server's initialWindowSize and connectionWindowSize reach a client as SETTINGS and WINDOW_UPDATE", async () => {
    server = createServer({ initialWindowSize: 1 << 20, connectionWindowSize: 8 << 20 });
    const port = await server.listen(0);
    const session: ClientHttp2Session = rawSession(port);
    closers.push(() => session.destroy());
    await within(once(session, "remoteSettings"), 2000, "the server's SETTINGS");
    expect(session.remoteSettings.initialWindowSize).toBe(1 << 20);
    await until(() => session.state.remoteWindowSize === 8 << 20, "the connection window");
  });

  it("without them the server keeps HTTP/2's 65535", async () => {
    server = createServer();
    const port = await server.listen(0);
    const session = rawSession(port);
    closers.push(() => session.destroy());
    await within(once(session, "remoteSettings"), 2000, "the server's SETTINGS");
    expect(session.remoteSettings.initialWindowSize).toBe(65_535);
    await new Promise((r) => setTimeout(r, 50));
    expect(session.state.remoteWindowSize).toBe(65_535);
  });

  it("the client's initialWindowSize and connectionWindowSize reach the server", async () => {
    const raw = http2.createServer();
    const sessions: ServerHttp2Session[] = [];
    raw.on("session", (s) => sessions.push(s));
    raw.on("stream", (stream) => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "grpc-status": "0" },
        { endStream: true },
      );
    });
    raw.listen(0, "127.0.0.1");
    await once(raw, "listening");
    closers.push(() => {
      for (const s of sessions) s.destroy();
      raw.close();
    });
    const client = connect(`127.0.0.1:${(raw.address() as AddressInfo).port}`, {
      initialWindowSize: 512 * 1024,
      connectionWindowSize: 4 << 20,
    });
    closers.push(() => client.close());
    const { tx, status } = client.bidiCall(Bytes);
    tx.close();
    await within(status, 2000, "the call");
    const session = sessions[0] as ServerHttp2Session;
    expect(session.remoteSettings.initialWindowSize).toBe(512 * 1024);
    await until(() => session.state.remoteWindowSize === 4 << 20, "the connection window");
  });

  it("refuses a window that is not an integer from 1 to 2^31 - 1, naming the option", () => {
    for (const bad of [0, -1, 2 ** 31, 1.5, Number.NaN, "65535"]) {
      for (const name of ["initialWindowSize", "connectionWindowSize"] as const) {
        expect(() => createServer({ [name]: bad as number }), `server ${name} ${String(bad)}`).toThrow(
          new RegExp(name),
        );
        expect(
          () => connect("127.0.0.1:1", { [name]: bad as number }),
          `client ${name} ${String(bad)}`,
        ).toThrow(new RegExp(name));
      }
    }
    expect(() => createServer({ initialWindowSize: 1, connectionWindowSize: 2 ** 31 - 1 })).not.toThrow();
  });
});
