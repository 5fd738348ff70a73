/**
 * Two things the new user's fourth review ran into on the h2 client.
 *
 * A request the h2 client's serializer refuses ends the call INTERNAL, as grpc-js's client ends it
 * ("Request message serialization failure"): the caller's own bug, not a cancel (the new user's
 * fourth review read `CANCELLED "cancelled: the request stream was aborted"` for it, the code of
 * `tx.abort()`, on a unary call that has no request stream to abort). The server, which never gets
 * the message, still hears its reset as CANCELLED.
 *
 * A handle's `metrics`, destructured as docs/h2.md destructures the handle (`const { tx, rx, status,
 * headers, cancel } = client.bidiCall(...)`), threw "Cannot read properties of undefined (reading
 * '#call')": it was a prototype method, where `cancel` is a function of its own.
 *
 * `client.close()` under a live call ends it UNAVAILABLE (where grpc-js's `close()` lets it finish):
 * its details said "the connection to the server was lost", as for a network failure.
 *
 * A second `server.shutdown(graceMs)` while one runs (a second Ctrl-C asking for less grace) ended the
 * calls at its own grace, but the first `shutdown` went on waiting for all of its grace: the server
 * kept one slot for "the last call ended", which the second took over.
 *
 * `listen` after `shutdown` resolved with a port whose every call then failed (REFUSED_STREAM or
 * UNAVAILABLE "the server is shutting down"); grpc-js's `bindAsync` throws after shutdown.
 */
import {
  Code,
  connect,
  createServer,
  GrpcError,
  type H2BidiCall,
  type H2Client,
  type H2Server,
} from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { rejection, within } from "../support/async.js";
import type { Msg } from "../support/grpc.js";
import { H2TestService as TestService } from "../support/transport.js";

let server: H2Server | undefined;
afterEach(() => {
  server?.forceShutdown();
  server = undefined;
});

/** JSON cannot carry a BigInt: the test service's serializer throws on it. */
const unserializable = { n: 1n } as unknown as Msg;

async function start(onServerEnd: (reason: unknown) => void): Promise<number> {
  server = createServer().addService(TestService, {
    chat: async (requests) => {
      try {
        for await (const _ of requests);
      } catch (e) {
        onServerEnd(e);
      }
    },
    count: async () => {},
    sum: async (requests) => {
      try {
        for await (const _ of requests);
      } catch (e) {
        onServerEnd(e);
        throw e;
      }
      return { n: 0 };
    },
  });
  return server.listen(0, "127.0.0.1");
}

/** A chat call of a new client to a new server, one request sent. */
async function chatAfterOne(): Promise<{ client: H2Client; call: H2BidiCall<Msg, Msg> }> {
  const port = await start(() => {});
  const client = connect(`127.0.0.1:${port}`);
  const call = client.bidiCall(TestService.chat, { timeoutMs: 2000 });
  await call.tx.send({ n: 1 });
  return { client, call };
}

describe("a request the client cannot serialize", () => {
  it("ends a server-streaming call INTERNAL naming the serializer's error, not CANCELLED", async () => {
    const port = await start(() => {});
    const client = connect(`127.0.0.1:${port}`);
    try {
      const call = client.serverStreamCall(TestService.count, unserializable, { timeoutMs: 2000 });
      const error = await within(rejection(call.status), 2000, "status");
      expect(error).toBeInstanceOf(GrpcError);
      expect((error as GrpcError).code).toBe(Code.INTERNAL);
      expect((error as GrpcError).details).toMatch(/serializ/);
      expect(((error as GrpcError).cause as Error).message).toMatch(/BigInt/);
    } finally {
      client.close();
    }
  });

  it("ends a client-streaming call INTERNAL after a good request, and the server hears CANCELLED", async () => {
    let serverSaw: unknown;
    const port = await start((e) => {
      serverSaw = e;
    });
    const client = connect(`127.0.0.1:${port}`);
    try {
      await client.serverStreamCall(TestService.count, { n: 0 }).status; // the connection is up: the stream opens at once
      const call = client.clientStreamCall(TestService.sum, { timeoutMs: 2000 });
      await call.tx.send({ n: 1 });
      void call.tx.send(unserializable).catch(() => {});
      const error = await within(rejection(call.response), 2000, "response");
      expect((error as GrpcError).code).toBe(Code.INTERNAL);
      await expect(rejection(call.status)).resolves.toMatchObject({ code: Code.INTERNAL });
      await within(
        (async () => {
          while (serverSaw === undefined) await new Promise((r) => setTimeout(r, 10));
        })(),
        2000,
        "the server's end",
      );
      expect((serverSaw as GrpcError).code).toBe(Code.CANCELLED);
    } finally {
      client.close();
    }
  });

  it("leaves tx.abort() a cancel (CANCELLED, the reason as cause)", async () => {
    const { client, call } = await chatAfterOne();
    try {
      const reason = new Error("changed my mind");
      call.tx.abort(reason);
      const error = await within(rejection(call.status), 2000, "status");
      expect((error as GrpcError).code).toBe(Code.CANCELLED);
      expect((error as GrpcError).cause).toBe(reason);
    } finally {
      client.close();
    }
  });
});

describe("a call handle destructured", () => {
  it("gives a metrics() that works on its own, as cancel does", async () => {
    const { client, call } = await chatAfterOne();
    try {
      const { status, metrics, cancel } = call;
      expect(metrics().messagesSent).toBe(1);
      cancel();
      await expect(rejection(status)).resolves.toMatchObject({ code: Code.CANCELLED });
      const { metrics: streamMetrics, status: streamStatus } = client.serverStreamCall(TestService.count, {
        n: 0,
      });
      await streamStatus;
      expect(streamMetrics().messagesSent).toBe(1);
    } finally {
      client.close();
    }
  });
});

describe("client.close() under a live call", () => {
  it("ends it UNAVAILABLE saying the client was closed, not that the connection was lost", async () => {
    const { client, call } = await chatAfterOne();
    await new Promise((r) => setTimeout(r, 50)); // the stream is open on the server
    client.close();
    const error = await within(rejection(call.status), 2000, "status");
    expect(error).toMatchObject({ code: Code.UNAVAILABLE, details: "the client was closed" });
  });
});

describe("two shutdowns at once", () => {
  it("the first resolves once the second ended the calls, not at the end of its own grace", async () => {
    const { client, call } = await chatAfterOne();
    try {
      await new Promise((r) => setTimeout(r, 50)); // the stream is open on the server
      const started = Date.now();
      const first = (server as H2Server).shutdown(10_000);
      const second = (server as H2Server).shutdown(100);
      await within(second, 2000, "the second shutdown");
      await within(first, 2000, "the first shutdown");
      expect(Date.now() - started).toBeLessThan(2000);
      await expect(rejection(call.status)).resolves.toMatchObject({ code: Code.UNAVAILABLE });
    } finally {
      client.close();
    }
  });
});

describe("listen after shutdown", () => {
  it("rejects, saying so, instead of listening on a port that refuses every call", async () => {
    await start(() => {});
    await (server as H2Server).shutdown(0);
    await expect((server as H2Server).listen(0, "127.0.0.1")).rejects.toThrow(/after shutdown/);
    const forced = createServer();
    forced.forceShutdown();
    await expect(forced.listen(0, "127.0.0.1")).rejects.toThrow(/after shutdown/);
  });
});
