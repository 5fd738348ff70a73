/**
 * A second, real copy of @grpc/grpc-js (as npm link, a monorepo or `npm install <folder>` give):
 * its `instanceof Metadata` does not know the library's own Metadata. Nothing may be lost silently.
 */
import { cpSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { Metadata, status } from "@grpc/grpc-js";
import { bidiCall, GrpcError, type ServerContext, serveBidi, streamingClientOptions } from "grpc-mpsc/grpc";
import { afterEach, describe, expect, it } from "vitest";
import { outcome, within } from "../support/async.js";
import {
  grpcJsUnderTest,
  type Msg,
  start,
  type TestClient,
  TestClientCtor,
  TestService,
} from "../support/grpc.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));

/**
 * A copy of the grpc-js under test (the newest, or the floor with GRPC_MPSC_GRPC_JS=floor: the same
 * version as the library's, another copy) under node_modules/.cache, one folder per version; its own
 * dependencies resolve from its nested node_modules (copied with it), then upwards.
 */
function secondCopy(copy: string): typeof grpc {
  if (!existsSync(join(copy, "package.json"))) cpSync(grpcJsUnderTest().dir, copy, { recursive: true });
  return createRequire(join(copy, "package.json"))(copy) as typeof grpc;
}

const copyDir = join(
  repo,
  `node_modules/.cache/grpc-mpsc-tests/${grpcJsUnderTest().version}/node_modules/@grpc/grpc-js`,
);
const grpc2 = secondCopy(copyDir);
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A client of the test service made by the second copy. */
function secondCopyClient(port: number): TestClient {
  const Ctor = grpc2.makeGenericClientConstructor(TestService, "Test");
  const c = new Ctor(`127.0.0.1:${port}`, grpc2.credentials.createInsecure(), {
    ...streamingClientOptions,
  }) as unknown as TestClient;
  closers.push(() => c.close());
  return c;
}

describe("two copies of @grpc/grpc-js", () => {
  it("is a real second copy of the same version: its Metadata is another class", () => {
    const { version } = grpcJsUnderTest();
    expect(
      (createRequire(import.meta.url)(join(copyDir, "package.json")) as { version: string }).version,
    ).toBe(version);
    expect(grpc2.Metadata).not.toBe(Metadata);
    expect(new grpc2.Metadata() instanceof Metadata).toBe(false);
  });

  it("a client of the other copy: the deadline reaches the wire (the call times out instead of hanging)", async () => {
    let ctxSeen: ServerContext | undefined;
    const h = await start({
      chat: serveBidi<Msg, Msg>(async (requests, _responses, ctx) => {
        ctxSeen = ctx;
        await outcome(requests.recv());
      }),
    });
    closers.push(h.close);
    const c = secondCopyClient(h.port);
    const call = bidiCall((md, o) => c.chat(md, o), { timeoutMs: 300 });
    const { error } = await within(outcome(call.status), 5000, "the call's status");
    expect(error).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(ctxSeen?.deadline).toBeInstanceOf(Date);
  });

  it("a client of the other copy: request metadata arrives; error trailers come back", async () => {
    let who: unknown;
    const h = await start({
      chat: serveBidi<Msg, Msg>(async (_requests, _responses, ctx) => {
        who = ctx.metadata.get("x-who")[0];
        const trailers = new Metadata();
        trailers.set("x-reason", "quota");
        throw new GrpcError(status.RESOURCE_EXHAUSTED, "slow down", trailers);
      }),
    });
    closers.push(h.close);
    const c = secondCopyClient(h.port);
    const md = new grpc2.Metadata();
    md.set("x-who", "second copy");
    const call = bidiCall((m, o) => c.chat(m, o), { metadata: md as unknown as Metadata });
    const { error } = await within(outcome(call.rx.recv()), 5000, "rx");
    expect(who).toBe("second copy");
    expect(error).toBeInstanceOf(GrpcError);
    expect((error as GrpcError).metadata.get("x-reason")).toEqual(["quota"]);
  });

  it("a server of the other copy: trailers of ctx and of a thrown GrpcError reach the client, and the deadline reaches ctx", async () => {
    const server = new grpc2.Server();
    let deadline: Date | undefined;
    server.addService(TestService, {
      chat: serveBidi<Msg, Msg>(async (requests, responses, ctx) => {
        deadline = ctx.deadline;
        ctx.trailers.set("x-from-ctx", "1");
        const first = await requests.recv();
        await responses.send({ n: first?.n ?? -1 });
        const md = new Metadata(); // the library's copy, not the server's
        md.set("x-from-error", "2");
        throw new GrpcError(status.FAILED_PRECONDITION, "not yet", md);
      }) as unknown as grpc.handleBidiStreamingCall<unknown, unknown>,
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc2.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    closers.push(() => server.forceShutdown());
    const c = TestClientCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    closers.push(() => c.close());
    const call = bidiCall((md, o) => c.chat(md, o), { timeoutMs: 10_000 });
    await call.tx.send({ n: 4 });
    expect((await within(call.rx.recv(), 5000, "rx"))?.n).toBe(4);
    const { error } = await within(outcome(call.status), 5000, "status");
    expect(error).toMatchObject({ code: status.FAILED_PRECONDITION, details: "not yet" });
    expect((error as GrpcError).metadata.get("x-from-ctx")).toEqual(["1"]);
    expect((error as GrpcError).metadata.get("x-from-error")).toEqual(["2"]);
    expect(deadline).toBeInstanceOf(Date);
  });
});
