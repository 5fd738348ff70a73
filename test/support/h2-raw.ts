/**
 * A raw `node:http2` client for the hostile-peer tests of the h2 server: requests with any headers
 * and body bytes (malformed frames, bad metadata), and sessions that open streams and leave or reset
 * them. Every session connects to 127.0.0.1 and is destroyed by the caller or {@link rawSessions}.
 */
import { type ClientHttp2Session, connect, type IncomingHttpHeaders } from "node:http2";
import { createServer as createTcpServer, type Socket } from "node:net";
import { Code, type MethodDefinition } from "grpc-mpsc/h2";
import { afterEach, expect } from "vitest";
import { collectGarbage, within } from "./async.js";
import type { Msg } from "./grpc.js";
import { h2Transport } from "./transport.js";

/** What a raw request got back. */
export interface RawAnswer {
  readonly headers: IncomingHttpHeaders;
  readonly trailers: IncomingHttpHeaders | undefined;
  readonly body: Buffer;
  /** `grpc-status` from the trailers, or from the headers of a trailers-only answer. */
  readonly grpcStatus: string | undefined;
  /** `grpc-message`, percent-decoded. */
  readonly grpcMessage: string;
}

/** The headers of a well-formed gRPC request. */
export const GRPC_HEADERS = { "content-type": "application/grpc", te: "trailers" } as const;

/** A message of the test service as its JSON bytes (unframed). */
export const json = (m: Msg): Buffer => Buffer.from(JSON.stringify(m));

/** A session to `127.0.0.1:port` whose errors are swallowed (a hostile peer expects them). */
export function rawSession(port: number): ClientHttp2Session {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  return session;
}

/**
 * One raw request on a session of its own (default path `/test.Test/Chat`, method POST): sends
 * `headers` and `body`, ends its side, and resolves once the stream closes (3 s at most).
 */
export async function rawRequest(
  port: number,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<RawAnswer> {
  const session = rawSession(port);
  try {
    return await within(
      new Promise<RawAnswer>((resolve, reject) => {
        session.on("error", reject);
        const stream = session.request({ ":method": "POST", ":path": "/test.Test/Chat", ...headers });
        let got: IncomingHttpHeaders = {};
        let trailers: IncomingHttpHeaders | undefined;
        const chunks: Buffer[] = [];
        stream.on("response", (h) => {
          got = h;
        });
        stream.on("trailers", (t) => {
          trailers = t;
        });
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("error", reject);
        stream.on("close", () => {
          const end = trailers ?? got;
          const status = end["grpc-status"];
          resolve({
            headers: got,
            trailers,
            body: Buffer.concat(chunks),
            grpcStatus: typeof status === "string" ? status : undefined,
            grpcMessage: decodeURIComponent(String(end["grpc-message"] ?? "")),
          });
        });
        stream.end(body);
      }),
      3000,
      "a raw request",
    );
  } finally {
    session.destroy();
  }
}

/** Sessions a test opens, destroyed after it. */
export function rawSessions(): { open(port: number): ClientHttp2Session } {
  const open: ClientHttp2Session[] = [];
  afterEach(() => {
    for (const session of open.splice(0)) session.destroy();
  });
  return {
    open: (port) => {
      const session = rawSession(port);
      open.push(session);
      return session;
    },
  };
}

/**
 * The process's memory now, in MiB, after collections a turn apart (when `--expose-gc` allows them):
 * RSS, which shows a flood's peak (the allocator keeps freed pages, so it seldom falls after), and
 * the heap in use, which shows what stayed behind.
 */
export async function memoryMiB(): Promise<{ rss: number; heap: number }> {
  await collectGarbage();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss: rss / 2 ** 20, heap: heapUsed / 2 ** 20 };
}

/** An h2 client's call still gets its echo and OK from the server on `port` (after a hostile peer). */
export async function stillServes(port: number): Promise<void> {
  const client = h2Transport.connect(`127.0.0.1:${port}`);
  try {
    const call = client.chat({ timeoutMs: 5000 });
    await call.tx.send({ n: 42 });
    call.tx.close();
    expect((await within(call.rx.recv(), 5000, "the echo"))?.n).toBe(42);
    expect((await within(call.status, 5000, "the status")).code).toBe(Code.OK);
  } finally {
    client.close();
  }
}

const same = (b: Buffer): Buffer => b;
/** A bidi method of raw bytes: its serializers hand the buffers through as they are. */
export const Bytes = {
  path: "/test.Bytes/Echo",
  requestStream: true,
  responseStream: true,
  requestSerialize: same,
  requestDeserialize: same,
  responseSerialize: same,
  responseDeserialize: same,
} satisfies MethodDefinition<Buffer, Buffer>;
/** A service of {@link Bytes} alone. */
export const BytesService = { echo: Bytes };

/** `size` bytes, each `(seed + i) % 251`: a message whose every byte says where it belongs. */
export const pattern = (size: number, seed: number): Buffer => {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (seed + i) % 251;
  return b;
};

// HTTP/2 frames by hand (RFC 9113): what node:http2 will not send, for peers on a raw TCP socket.

/** The client connection preface. */
export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
export const DATA = 0;
export const HEADERS = 1;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PING = 6;
export const GOAWAY = 7;
export const END_STREAM = 1;
export const END_HEADERS = 4;

/** One HTTP/2 frame: the 9-byte header and `payload`. */
export function rawFrame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an `n`-bit prefix (RFC 7541 5.1). */
function hpackInt(value: number, n: number, first = 0): number[] {
  const max = (1 << n) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Headers as HPACK literals without indexing, new names, no Huffman: exactly the bytes given. */
export function hpack(headers: [string, string][]): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    out.push(0);
    for (const s of [name, value]) {
      const b = Buffer.from(s, "latin1");
      out.push(...hpackInt(b.length, 7), ...b);
    }
  }
  return Buffer.from(out);
}

/**
 * A TCP server on 127.0.0.1 speaking HTTP/2 by hand: it sends its SETTINGS, acknowledges the
 * client's, and answers each request's HEADERS with the frames `answer` makes for its stream, then
 * calls `after`. `close` destroys its connections and stops it.
 */
export async function wireServer(
  answer: (stream: number) => Buffer[],
  after?: (socket: Socket) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.write(rawFrame(SETTINGS, 0, 0));
    let buffer = Buffer.alloc(0);
    let preface = false;
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!preface) {
        if (buffer.length < PREFACE.length) return;
        buffer = buffer.subarray(PREFACE.length);
        preface = true;
      }
      while (buffer.length >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.length < 9 + length) return;
        const type = buffer[3] as number;
        const flags = buffer[4] as number;
        const stream = buffer.readUInt32BE(5) & 0x7fffffff;
        buffer = buffer.subarray(9 + length);
        if (type === SETTINGS && (flags & 1) === 0) socket.write(rawFrame(SETTINGS, 1, 0));
        if (type === HEADERS) {
          socket.write(Buffer.concat(answer(stream)));
          after?.(socket);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
