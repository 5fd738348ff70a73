/**
 * How the h2 client reads the end of a stream that carried no status, from a raw HTTP/2 server's
 * side: the server's RST_STREAM CANCEL is CANCELLED, its REFUSED_STREAM is UNAVAILABLE,
 * ENHANCE_YOUR_CALM RESOURCE_EXHAUSTED and INADEQUATE_SECURITY PERMISSION_DENIED (the table of
 * gRPC's PROTOCOL-HTTP2.md, as grpc-js reads them), and a connection that goes away under the call
 * (the server's socket destroyed: Node closes the client's streams with code CANCEL though no reset
 * came) is UNAVAILABLE, never taken for a cancel. And how the h2 server reads a raw client's reset:
 * gRPC's C core (python-grpcio) resets a call it refuses a message of with ENHANCE_YOUR_CALM.
 */
import {
  constants,
  createServer as createHttp2Server,
  type Http2Server,
  type ServerHttp2Stream,
} from "node:http2";
import { Code, connect, createServer, type GrpcError, type H2Client, WireMetadata } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { rejection, within } from "../support/async.js";
import { GRPC_HEADERS, rawSession } from "../support/h2-raw.js";
import { H2TestService as TestService } from "../support/transport.js";

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/** A raw HTTP/2 server that answers each stream's headers, then does `then(stream)`. */
async function rawServer(then: (stream: ServerHttp2Stream) => void): Promise<number> {
  const server: Http2Server = createHttp2Server();
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    setTimeout(() => then(stream), 20);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stops.push(() => server.close());
  const address = server.address();
  return typeof address === "object" && address !== null ? address.port : 0;
}

async function endOf(port: number): Promise<GrpcError> {
  const client: H2Client = connect(`127.0.0.1:${port}`);
  stops.push(() => client.close());
  const call = client.bidiCall(TestService.chat);
  return (await within(rejection(call.status), 3000, "status")) as GrpcError;
}

describe("the h2 client reads a stream that ended without a status", () => {
  it("the server's RST_STREAM CANCEL is CANCELLED", async () => {
    const error = await endOf(await rawServer((s) => s.close(constants.NGHTTP2_CANCEL)));
    expect(error.code).toBe(Code.CANCELLED);
    expect(error.details).toMatch(/RST_STREAM CANCEL/);
  });

  it("the server's REFUSED_STREAM is UNAVAILABLE", async () => {
    const error = await endOf(await rawServer((s) => s.close(constants.NGHTTP2_REFUSED_STREAM)));
    expect(error.code).toBe(Code.UNAVAILABLE);
  });

  it("the connection destroyed under the call is UNAVAILABLE, not a cancel", async () => {
    const error = await endOf(await rawServer((s) => s.session?.destroy()));
    expect(error.code).toBe(Code.UNAVAILABLE);
    expect(error.details).toMatch(/connection/);
  });

  it("the server's ENHANCE_YOUR_CALM is RESOURCE_EXHAUSTED", async () => {
    const error = await endOf(await rawServer((s) => s.close(constants.NGHTTP2_ENHANCE_YOUR_CALM)));
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(error.details).toMatch(/ENHANCE_YOUR_CALM/);
  });

  it("the server's INADEQUATE_SECURITY is PERMISSION_DENIED", async () => {
    const error = await endOf(await rawServer((s) => s.close(constants.NGHTTP2_INADEQUATE_SECURITY)));
    expect(error.code).toBe(Code.PERMISSION_DENIED);
    expect(error.details).toMatch(/INADEQUATE_SECURITY/);
  });

  it("another reset code is INTERNAL naming it", async () => {
    const error = await endOf(await rawServer((s) => s.close(constants.NGHTTP2_INTERNAL_ERROR)));
    expect(error.code).toBe(Code.INTERNAL);
    expect(error.details).toMatch(/code 2/);
  });
});

describe("the h2 server reads a client's reset", () => {
  /** The reason the handler's `ctx.signal` and `requests` end with when a raw client resets with `code`. */
  async function handlerEndOn(code: number): Promise<{ signal: unknown; requests: unknown }> {
    let ended: (seen: { signal: unknown; requests: unknown }) => void = () => {};
    const seen = new Promise<{ signal: unknown; requests: unknown }>((resolve) => (ended = resolve));
    const server = createServer().addService(TestService, {
      chat: async (requests, _responses, ctx) => {
        ctx.sendMetadata(new WireMetadata());
        const requestsEnd = await rejection(requests.recv());
        ended({ signal: ctx.signal.reason, requests: requestsEnd });
      },
      count: async () => {},
      sum: async () => ({ n: 0 }),
    });
    const port = await server.listen(0);
    stops.push(() => server.forceShutdown());
    const session = rawSession(port);
    stops.push(() => session.destroy());
    const stream = session.request({ ":method": "POST", ":path": "/test.Test/Chat", ...GRPC_HEADERS });
    stream.on("error", () => {});
    await within(new Promise((resolve) => stream.once("response", resolve)), 3000, "the headers");
    stream.close(code);
    return within(seen, 3000, "the handler's end");
  }

  it("ENHANCE_YOUR_CALM (the C core refusing a message over its limit) is RESOURCE_EXHAUSTED", async () => {
    const { signal, requests } = await handlerEndOn(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(signal).toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
    expect(requests).toBe(signal);
  });

  it("CANCEL is CANCELLED", async () => {
    const { signal, requests } = await handlerEndOn(constants.NGHTTP2_CANCEL);
    expect(signal).toMatchObject({ code: Code.CANCELLED });
    expect(requests).toBe(signal);
  });
});
