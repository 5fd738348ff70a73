/**
 * The ceiling: gRPC's wire format over bare `node:http2`, no grpc-js. Each message is framed as gRPC
 * frames it (a 1-byte compressed flag, a 4-byte big-endian length, the protobuf bytes, serialized by
 * the same generated functions grpc-js calls), one `write()` per message as grpc-js does, with
 * backpressure from `write()`/'drain' on both sides and the final status in trailers. Session options
 * match grpc-js's (default 64 KiB windows, no session memory cap). What it leaves out is what grpc-js
 * adds: its call and filter stack, deadlines, metadata handling, status mapping.
 *
 * It serves and calls every method the gRPC cases use: both bidi echoes (MessageService and
 * BenchService.Echo), BenchService.Flood (server streaming) and Upload (client streaming). One write
 * per message is grpc-js's pattern, not the fastest one: h2 writes a burst of messages as one buffer,
 * so on small messages in one direction (the flood) it can pass this "ceiling".
 */
import { once } from "node:events";
import http2 from "node:http2";
import { BenchServiceService, type UploadSummary } from "../../examples/generated/bench.js";
import {
  type MessageRequest,
  type MessageResponse,
  MessageServiceService,
} from "../../examples/generated/messages.js";
import { type BidiRun, type Clients, payloadOf, type Running, UploadCount } from "./grpc-types.js";

const HEADER = 5;
const SESSION: http2.SessionOptions = { maxSessionMemory: Number.MAX_SAFE_INTEGER };

/** One gRPC length-prefixed message. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, HEADER);
  return out;
}

/** Splits the bytes of an HTTP/2 stream, as they arrive in chunks, into gRPC messages. */
export class Deframer {
  readonly #chunks: Buffer[] = [];
  #have = 0;
  /** Bytes of the header or of the message body that come next. */
  #need = HEADER;
  #inHeader = true;

  constructor(readonly onMessage: (message: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#have += chunk.length;
    while (this.#have >= this.#need) {
      const bytes = this.#take(this.#need);
      if (this.#inHeader) {
        if (bytes[0] !== 0) throw new Error("a compressed gRPC message: not supported here");
        this.#need = bytes.readUInt32BE(1);
        this.#inHeader = false;
      } else {
        this.#need = HEADER;
        this.#inHeader = true;
        this.onMessage(bytes);
      }
    }
  }

  /** The next `n` buffered bytes: a view when one chunk holds them, else a copy of the pieces. */
  #take(n: number): Buffer {
    this.#have -= n;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let off = 0; off < n; ) {
      const c = this.#chunks[0] as Buffer;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return out;
  }
}

/** Echoes each request message as `reply` makes it, reading no more while the responses do not drain. */
const echoing =
  (reply: (message: Buffer) => Buffer) =>
  (stream: http2.ServerHttp2Stream): void => {
    let paused = false;
    const deframer = new Deframer((message) => {
      if (!stream.write(frame(reply(message))) && !paused) {
        // Read no more until the responses drain: HTTP/2 flow control then slows the client.
        paused = true;
        stream.pause();
        stream.once("drain", () => {
          paused = false;
          stream.resume();
        });
      }
    });
    stream.on("data", (chunk: Buffer) => deframer.push(chunk));
    stream.on("end", () => stream.end());
  };

/** Flood: on the one request, writes `count` chunks until `write()` says full, goes on at 'drain', then ends. */
function flooding(stream: http2.ServerHttp2Stream): void {
  const f = BenchServiceService.flood;
  const deframer = new Deframer((message) => {
    const { count, size } = f.requestDeserialize(message);
    const payload = payloadOf(size);
    let seq = 0;
    const pump = (): void => {
      while (seq < count) {
        if (stream.destroyed) return; // the client went away
        if (!stream.write(frame(f.responseSerialize({ seq: seq++, payload })))) {
          stream.once("drain", pump);
          return;
        }
      }
      stream.end();
    };
    pump();
  });
  stream.on("data", (chunk: Buffer) => deframer.push(chunk));
}

/** Upload: counts every chunk, answers the summary once the client half-closes. */
function counting(stream: http2.ServerHttp2Stream): void {
  const u = BenchServiceService.upload;
  const count = new UploadCount();
  const deframer = new Deframer((message) => count.add(u.requestDeserialize(message)));
  stream.on("data", (chunk: Buffer) => deframer.push(chunk));
  stream.on("end", () => stream.end(frame(u.responseSerialize(count.summary()))));
}

/** What serves a stream, by path: both bidi echoes, the flood and the upload. */
const routes: Record<string, (stream: http2.ServerHttp2Stream) => void> = {
  [MessageServiceService.streamMessages.path]: echoing((m) => {
    const req = MessageServiceService.streamMessages.requestDeserialize(m);
    return MessageServiceService.streamMessages.responseSerialize({ message: req.name });
  }),
  [BenchServiceService.echo.path]: echoing((m) =>
    BenchServiceService.echo.responseSerialize(BenchServiceService.echo.requestDeserialize(m)),
  ),
  [BenchServiceService.flood.path]: flooding,
  [BenchServiceService.upload.path]: counting,
};

function serveStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  stream.on("error", () => {});
  const serve = routes[String(headers[":path"])];
  if (serve === undefined) {
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", "grpc-status": "12" },
      { endStream: true },
    );
    return;
  }
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  serve(stream);
}

/** A server of both services (the bidi echoes, Flood, Upload) on bare node:http2, on 127.0.0.1. */
export async function startH2(): Promise<Running> {
  const server = http2.createServer(SESSION);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => {});
  });
  server.on("stream", serveStream);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("h2 server: no port");
  return {
    port: address.port,
    stop: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A call on `session` to `path`: each response message deframed to `see` (what `see` throws cancels
 * the call and fails `ended`); `ended` resolves once the stream closed with grpc-status 0.
 */
function h2Call(
  session: http2.ClientHttp2Session,
  path: string,
  see: (message: Buffer) => void,
): { stream: http2.ClientHttp2Stream; ended: Promise<void> } {
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
  });
  const ended = new Promise<void>((resolve, reject) => {
    let failed: { error: unknown } | undefined;
    let status: unknown;
    const deframer = new Deframer((message) => {
      if (failed) return;
      try {
        see(message);
      } catch (error) {
        failed = { error };
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }
    });
    stream.on("data", (chunk: Buffer) => deframer.push(chunk));
    stream.on("response", (headers) => {
      status = headers["grpc-status"]; // a trailers-only response
    });
    stream.on("trailers", (trailers) => {
      status = trailers["grpc-status"];
    });
    stream.on("error", (error) => reject(failed ? failed.error : error));
    stream.on("close", () => {
      if (failed) reject(failed.error);
      else if (status === "0") resolve();
      else reject(new Error(`${path}: grpc-status ${String(status)}`));
    });
  });
  ended.catch(() => {}); // awaited by the caller, unless its write loop fails first
  return { stream, ended };
}

/** Writes `n` framed messages (`encode(i)`), awaiting 'drain' whenever `write()` says full, then half-closes. */
async function writeAll(
  stream: http2.ClientHttp2Stream,
  n: number,
  encode: (i: number) => Buffer,
  ended: Promise<void>,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (!stream.write(frame(encode(i)))) await Promise.race([once(stream, "drain"), ended]);
  }
  stream.end();
}

/** A bidi stream on `session`: gRPC-framed requests out, responses deframed, the status from the trailers. */
function h2Bidi<Req, Res>(
  session: http2.ClientHttp2Session,
  path: string,
  serialize: (req: Req) => Buffer,
  deserialize: (bytes: Buffer) => Res,
): BidiRun<Req, Res> {
  return async (n, make, see) => {
    let i = 0;
    const { stream, ended } = h2Call(session, path, (message) => see(deserialize(message), i++));
    await writeAll(stream, n, (k) => serialize(make(k)), ended);
    await ended;
  };
}

/** An HTTP/2 session to the bare-http2 server on `port` (127.0.0.1), with grpc-js's settings. */
export function h2Session(port: number): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`, SESSION);
  session.on("error", () => {});
  return session;
}

/**
 * One bidi stream of the reference service on bare node:http2, message by message (the ping-pong's
 * round trips, the heap case's idle streams): `send` writes one framed request, `recv` resolves with
 * the next response (`undefined` once the stream has closed), `end` half-closes and resolves once the
 * stream closed with grpc-status 0 (it rejects otherwise).
 */
export class BareStream {
  readonly #stream: http2.ClientHttp2Stream;
  readonly #ended: Promise<void>;
  /** Responses deframed before a `recv` asked for them. */
  #ready: MessageResponse[] | undefined;
  #waiting: ((res: MessageResponse | undefined) => void) | undefined;
  #done = false;

  constructor(session: http2.ClientHttp2Session) {
    const m = MessageServiceService.streamMessages;
    const { stream, ended } = h2Call(session, m.path, (message) =>
      this.#deliver(m.responseDeserialize(message)),
    );
    this.#stream = stream;
    this.#ended = ended;
    stream.on("close", () => {
      this.#done = true;
      this.#deliver(undefined);
    });
  }

  /** Writes one request; false when the stream's buffer is full (as `write()` says). */
  send(request: MessageRequest): boolean {
    return this.#stream.write(frame(MessageServiceService.streamMessages.requestSerialize(request)));
  }

  /** The next response, or `undefined` once the stream has closed. */
  recv(): Promise<MessageResponse | undefined> {
    const next = this.#ready?.shift();
    if (next !== undefined || this.#done) return Promise.resolve(next);
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  /** Half-closes the stream; resolves once it closed with grpc-status 0. */
  end(): Promise<void> {
    this.#stream.end();
    return this.#ended;
  }

  #deliver(res: MessageResponse | undefined): void {
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting(res);
    } else if (res !== undefined) {
      this.#ready ??= [];
      this.#ready.push(res);
    }
  }
}

/** Clients of the bare-http2 server on `port`, on one HTTP/2 session. */
export function h2Clients(port: number): Clients {
  const session = h2Session(port);
  const m = MessageServiceService.streamMessages;
  const { echo: e, flood: f, upload: u } = BenchServiceService;
  return {
    messages: h2Bidi(session, m.path, m.requestSerialize, m.responseDeserialize),
    chunks: h2Bidi(session, e.path, e.requestSerialize, e.responseDeserialize),
    flood: async (request, see) => {
      let i = 0;
      const { stream, ended } = h2Call(session, f.path, (message) =>
        see(f.responseDeserialize(message), i++),
      );
      stream.end(frame(f.requestSerialize(request)));
      await ended;
    },
    upload: async (n, make) => {
      let summary: UploadSummary | undefined;
      const { stream, ended } = h2Call(session, u.path, (message) => {
        if (summary !== undefined) throw new Error("upload: a second response");
        summary = u.responseDeserialize(message);
      });
      await writeAll(stream, n, (k) => u.requestSerialize(make(k)), ended);
      await ended;
      if (summary === undefined) throw new Error("upload: no response");
      return summary;
    },
    close: () => session.close(),
  };
}

/**
 * The floor of a round trip over node:http2 (the ping-pong's last column): one stream, and a server
 * that writes each DATA chunk back as it came, in its 'data' listener, to a client that writes the
 * next request in its own. One gRPC frame of a 3-byte message (`name: "0"`) each way, framed once
 * up front: no codec, no deframing, no promise, no backpressure (one message is in flight). What is
 * left is node:http2 and nghttp2 on both sides, and the socket's round trip through the event loop.
 * Returns the `n` round trips in milliseconds.
 */
export async function pingPongFloor(n: number): Promise<number[]> {
  const server = http2.createServer(SESSION);
  server.on("session", (s) => s.on("error", () => {}));
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.on("data", (chunk: Buffer) => stream.write(chunk));
    stream.on("end", () => stream.end());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("h2 floor: no port");
  const session = h2Session(address.port);
  const request = frame(MessageServiceService.streamMessages.requestSerialize({ name: "0" }));
  const samples: number[] = [];
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": MessageServiceService.streamMessages.path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => {});
    const closed = once(stream, "close");
    await new Promise<void>((resolve, reject) => {
      let t0 = 0;
      /** Bytes of the current echo still to come: a frame may arrive in more than one chunk. */
      let owed = request.length;
      const next = (): void => {
        owed = request.length;
        t0 = performance.now();
        stream.write(request);
      };
      stream.on("data", (chunk: Buffer) => {
        owed -= chunk.length;
        if (owed > 0) return;
        if (owed < 0) return reject(new Error("h2 floor: more bytes than were sent"));
        samples.push(performance.now() - t0);
        if (samples.length === n) resolve();
        else next();
      });
      stream.on("close", () => reject(new Error(`h2 floor: closed after ${samples.length} of ${n}`)));
      next();
    });
    stream.end();
    await closed;
  } finally {
    session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return samples;
}
