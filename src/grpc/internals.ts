/**
 * Every read of a grpc-js field that grpc-js does not document, in one place.
 *
 * grpc-js tells a server handler neither why its call ended (a client's cancel, a reset with another
 * code, a lost connection, a status grpc-js sent by itself) nor whether a reset came from the server's
 * own `forceShutdown()`. The adapters learn it from the HTTP/2 stream under the call, which grpc-js
 * keeps in private fields, and from the HTTP/2 servers a grpc-js `Server` keeps. Those fields are not
 * part of grpc-js's API and may move in any release, so:
 *
 * - each read is one function here, whose doc says where the grpc-js versions of the peer range keep
 *   the field and what the adapters do without it;
 * - every function returns `undefined` (or an empty list) when the field is missing or its read
 *   throws, and the adapters then fall back to what the public API tells (the call's `cancelled`
 *   event, its deadline): a moved field costs a precise reason, never a crash or a hang;
 * - `test/grpc/internals.test.ts` checks on real calls that each read finds what it expects, and fails
 *   naming the field and the grpc-js version, so a release that moves one is caught by the tests
 *   (CI runs them on the peer range's floor and on the newest 1.x).
 *
 * Fields of Node's own `Http2Stream` and `Http2Session` (`rstCode`, `sentHeaders`, `sentTrailers`,
 * `session`, `destroyed`, `ping`) are Node's documented API (`server` of a server session is not);
 * they are read here too because the stream they are read from is only reachable through grpc-js's
 * private fields.
 *
 * @internal
 */
import { field } from "./hostile.js";

/** How deep {@link serverCallHttp2Stream} follows a chain of server interceptors. */
const MAX_INTERCEPTORS = 16;

/**
 * The intercepting call a grpc-js server call object wraps: its private `call` field (the
 * `ServerDuplexStreamImpl`, `ServerReadableStreamImpl`, `ServerWritableStreamImpl` or
 * `ServerUnaryCallImpl` constructor's `private call`), in grpc-js 1.10 to 1.14. It is the
 * `BaseServerInterceptingCall` itself when the server has no interceptors, else the outermost
 * interceptor's `ServerInterceptingCall`.
 *
 * Missing: no HTTP/2 stream is found, and a call that ends before its handler finished reads as
 * "cancelled by the client" (or as its deadline, once that passed).
 */
export function interceptingCallOf(call: unknown): object | undefined {
  return objectOrUndefined(field(call, "call"));
}

/**
 * The next call in a chain of server interceptors: `ServerInterceptingCall`'s private `nextCall`, in
 * grpc-js 1.10 to 1.14. Absent on the `BaseServerInterceptingCall` at the end of the chain.
 *
 * Missing on a server with interceptors: as {@link interceptingCallOf}.
 */
export function nextInterceptingCall(intercepting: unknown): object | undefined {
  return objectOrUndefined(field(intercepting, "nextCall"));
}

/**
 * The Node `ServerHttp2Stream` of a `BaseServerInterceptingCall`: its private `stream`, in grpc-js
 * 1.10 to 1.14 (recognised by Node's `rstCode` property, so that another field of that name is not
 * taken for it).
 *
 * Missing: as {@link interceptingCallOf}.
 */
export function http2StreamOfInterceptingCall(intercepting: unknown): object | undefined {
  const stream = field(intercepting, "stream");
  return typeof stream === "object" && stream !== null && "rstCode" in stream ? stream : undefined;
}

/**
 * The HTTP/2 stream under a grpc-js server call: {@link interceptingCallOf}, then down the
 * interceptors' {@link nextInterceptingCall} chain (at most 16 deep) to the call whose
 * {@link http2StreamOfInterceptingCall} is the stream. `undefined` when any link is missing.
 */
export function serverCallHttp2Stream(call: unknown): object | undefined {
  let inner = interceptingCallOf(call);
  for (let depth = 0; depth < MAX_INTERCEPTORS && inner !== undefined; depth++) {
    const stream = http2StreamOfInterceptingCall(inner);
    if (stream !== undefined) return stream;
    inner = nextInterceptingCall(inner);
  }
  return undefined;
}

/**
 * The method path of a grpc-js client call, for its diagnostics events: the call object's `call`
 * (an `InterceptingCall`), then down its interceptors' `nextCall` chain to the
 * `BaseInterceptingCall`, whose `call` (a `ResolvingCall`) keeps it as `method`, in grpc-js 1.10 to
 * 1.14. Read only when somebody subscribed to the client call events.
 *
 * Missing: the events name the method `"unknown method"`.
 */
export function clientCallMethod(call: unknown): string | undefined {
  let inner = field(call, "call");
  for (let depth = 0; depth <= MAX_INTERCEPTORS + 1 && typeof inner === "object" && inner !== null; depth++) {
    const method = field(inner, "method");
    if (typeof method === "string") return method;
    inner = field(inner, "nextCall") ?? field(inner, "call");
  }
  return undefined;
}

/**
 * The trailers sent on a Node HTTP/2 stream (`http2stream.sentTrailers`, Node's API), where grpc-js
 * 1.10 to 1.14 put the status of a call that had sent its headers.
 *
 * Missing: {@link sentStatusOf} looks at {@link sentHeadersOf}; without either, a status that grpc-js
 * sent by itself (a message over the size limit, an undecodable message) reads as the client's cancel.
 */
export function sentTrailersOf(stream: unknown): object | undefined {
  return objectOrUndefined(field(stream, "sentTrailers"));
}

/**
 * The headers sent on a Node HTTP/2 stream (`http2stream.sentHeaders`, Node's API), where grpc-js 1.10
 * to 1.14 put the status of a call that ended before any response (a trailers-only response).
 *
 * Missing: as {@link sentTrailersOf}.
 */
export function sentHeadersOf(stream: unknown): object | undefined {
  return objectOrUndefined(field(stream, "sentHeaders"));
}

/** A status that grpc-js sent on a stream by itself: its code (never OK) and its decoded message. */
export interface SentStatus {
  /** The `grpc-status` sent, an integer other than 0. */
  readonly code: number;
  /** The `grpc-message` sent, percent-decoded (as sent if it does not decode). */
  readonly details: string;
}

/**
 * The non-OK status sent on `stream`, from {@link sentTrailersOf}, else {@link sentHeadersOf}:
 * `undefined` if neither holds one.
 */
export function sentStatusOf(stream: unknown): SentStatus | undefined {
  for (const headers of [sentTrailersOf(stream), sentHeadersOf(stream)]) {
    const code = Number(field(headers, "grpc-status"));
    if (!Number.isInteger(code) || code === 0) continue;
    const raw = field(headers, "grpc-message");
    let details = typeof raw === "string" ? raw : "";
    try {
      details = decodeURIComponent(details);
    } catch {
      // grpc-js percent-encodes it; keep it as sent if it is not
    }
    return { code, details };
  }
  return undefined;
}

/**
 * The RST_STREAM code of a Node HTTP/2 stream (`http2stream.rstCode`, Node's API): 8 (CANCEL) for a
 * client's cancel, 0 while it was not reset.
 *
 * Missing: a reset reads as "the client's connection was lost" rather than as a cancel or a reset with
 * its code.
 */
export function rstCodeOf(stream: unknown): number | undefined {
  const code = field(stream, "rstCode");
  return typeof code === "number" ? code : undefined;
}

/**
 * The HTTP/2 session of a Node HTTP/2 stream (`http2stream.session`, Node's API; Node forgets it once
 * the stream is closed, so it is read when the call starts).
 *
 * Missing: a half-close is confirmed a turn later without the PING round trip (so a cancel over a slow
 * link may read as a half-close), a forced shutdown reads as the client's cancel, and a cancel is not
 * told from a lost connection.
 */
export function sessionOf(stream: unknown): object | undefined {
  return objectOrUndefined(field(stream, "session"));
}

/**
 * The Node HTTP/2 server a server session belongs to (`server`, an undocumented getter of Node's
 * `ServerHttp2Session`, there on Node 20): matched against {@link http2ServersOf} to tell a forced
 * shutdown.
 *
 * Missing: as {@link http2ServersOf}.
 */
export function http2ServerOfSession(session: unknown): object | undefined {
  return objectOrUndefined(field(session, "server"));
}

/**
 * Whether a Node HTTP/2 session is destroyed (`http2session.destroyed`, Node's API): a reset with the
 * CANCEL code on a destroyed session is the connection going, not the client's cancel.
 *
 * Missing: reads as not destroyed.
 */
export function isSessionDestroyed(session: unknown): boolean {
  return field(session, "destroyed") === true;
}

/**
 * A function that sends a PING on a Node HTTP/2 session (`http2session.ping(callback)`, Node's API)
 * and returns whether it was sent; it may throw while the session closes.
 *
 * Missing: a half-close is confirmed a turn later without the PING round trip.
 */
export function sessionPing(session: unknown): ((callback: () => void) => boolean) | undefined {
  const ping = field(session, "ping");
  if (typeof session !== "object" || session === null || typeof ping !== "function") return undefined;
  return (callback) => ping.call(session, callback) === true;
}

/**
 * The Node HTTP/2 servers under a grpc-js `Server`: the keys of its private `http2Servers` Map, in
 * grpc-js 1.10 to 1.14 (one per bound address).
 *
 * Missing: `[]`, and the resets of a forced shutdown read as the clients' cancels (CANCELLED rather
 * than UNAVAILABLE) in the handlers.
 */
export function http2ServersOf(server: unknown): object[] {
  const http2Servers = field(server, "http2Servers");
  if (!(http2Servers instanceof Map)) return [];
  const servers: object[] = [];
  for (const http2Server of http2Servers.keys()) {
    if (typeof http2Server === "object" && http2Server !== null) servers.push(http2Server);
  }
  return servers;
}

function objectOrUndefined(value: unknown): object | undefined {
  return typeof value === "object" && value !== null ? value : undefined;
}
