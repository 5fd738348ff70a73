/**
 * How the h2 client reads the end of a stream that carried no status, from a raw HTTP/2 server's
 * side: the server's RST_STREAM CANCEL is CANCELLED, its REFUSED_STREAM is UNAVAILABLE (and
 * ENHANCE_YOUR_CALM RESOURCE_EXHAUSTED, INADEQUATE_SECURITY PERMISSION_DENIED, as gRPC maps them), and a
 * connection that goes away under the call (the server's socket destroyed: Node closes the client's
 * streams with code CANCEL though no reset came) is UNAVAILABLE, never taken for a cancel.
 */
import {
  constants,
  createServer as createHttp2Server,
  type Http2Server,
  type ServerHttp2Stream,
} from "node:http2";
import { Code, connect, type GrpcError, type H2Client } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { rejection, within } from "../support/async.js";
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

  // gRPC's PROTOCOL-HTTP2.md maps these two resets to their own codes.
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
