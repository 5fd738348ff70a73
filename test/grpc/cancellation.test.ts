import { status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import {
  bidiCall,
  GrpcError,
  type ServerContext,
  serveBidi,
  serverStreamCall,
  serveServerStream,
} from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { within } from "../support/async.js";
import { harnessPerTest, type Msg } from "../support/grpc.js";

const { start, client } = harnessPerTest();

/** What the server handler saw: its context, and how its last pending send ended. */
interface Seen {
  ctx?: ServerContext;
  sendError?: unknown;
  sent: number;
  done: Promise<void>;
}

/** A bidi handler that sends forever (until a send fails) and records what happened. */
function foreverSender(): { impl: ReturnType<typeof serveBidi<Msg, Msg>>; seen: Seen } {
  let finished: () => void = () => {};
  const seen: Seen = { sent: 0, done: new Promise<void>((r) => (finished = r)) };
  const impl = serveBidi<Msg, Msg>(async (_requests, responses, ctx) => {
    seen.ctx = ctx;
    try {
      for (;;) {
        await responses.send({ n: seen.sent });
        seen.sent++;
      }
    } catch (err) {
      seen.sendError = err;
    } finally {
      finished();
    }
  });
  return { impl, seen };
}

describe("cancellation and deadlines", () => {
  it("client cancel: the handler's signal aborts and its pending send rejects with SendError within 1 s", async () => {
    const { impl, seen } = foreverSender();
    await start({ chat: impl });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.rx.recv(); // the handler is running and sending
    const t0 = Date.now();
    call.cancel();
    await within(seen.done, 1000, "the handler's pending send");
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(seen.sendError).toBeInstanceOf(SendError);
    expect(seen.ctx?.signal.aborted).toBe(true);
    expect(seen.ctx?.signal.reason).toMatchObject({ code: status.CANCELLED });
    await expect(call.status).rejects.toMatchObject({ code: status.CANCELLED });
  });

  it("a cancel in the same turn as a resolved send reaches the server (grpc-js alone loses it)", async () => {
    const ended: string[] = [];
    let started = 0;
    await start({
      chat: serveBidi<Msg, Msg>(async (requests, _responses, ctx) => {
        started++;
        try {
          for await (const _ of requests);
          ended.push("half-close");
        } catch {
          ended.push(ctx.signal.aborted ? "cancelled" : "error");
        }
      }),
    });
    // The connection is up first (a call that ends OK), so that the cancelled calls reach the server.
    const first = bidiCall((md, o) => client().chat(md, o));
    first.tx.close();
    await first.status;
    ended.length = started = 0;
    // Cancelled the way users write it: right after the first send resolved, and by an AbortSignal.
    for (let i = 0; i < 8; i++) {
      const controller = new AbortController();
      const call = bidiCall((md, o) => client().chat(md, o), { signal: controller.signal });
      await call.tx.send({ n: i });
      if (i % 2 === 0) call.cancel();
      else controller.abort(new Error("the caller's reason"));
      await expect(call.status).rejects.toMatchObject({ code: status.CANCELLED });
    }
    // Every call reached the server (the connection was up), and every handler hears the cancel at
    // once instead of waiting for the connection to close.
    await within(
      (async () => {
        while (ended.length < 8) await new Promise((r) => setTimeout(r, 10));
      })(),
      2000,
      "the handlers' ends",
    ).catch((error: unknown) => {
      throw new Error(`${started} handlers started, ${ended.length} ended: ${String(error)}`);
    });
    expect(started).toBe(8);
    expect(ended.every((e) => e === "cancelled")).toBe(true);
  });

  it("an AbortSignal given to the client call cancels it", async () => {
    const { impl, seen } = foreverSender();
    await start({ chat: impl });
    const controller = new AbortController();
    const call = bidiCall((md, o) => client().chat(md, o), { signal: controller.signal });
    await call.rx.recv();
    controller.abort();
    await within(seen.done, 1000, "the handler's pending send");
    expect(seen.ctx?.signal.aborted).toBe(true);
    await expect(call.status).rejects.toMatchObject({ code: status.CANCELLED });
  });

  it("leaving for-await early on the client cancels the call, and the server sees the cancel", async () => {
    const { impl, seen } = foreverSender();
    await start({ chat: impl });
    const call = bidiCall((md, o) => client().chat(md, o));
    let count = 0;
    for await (const _ of call.rx) {
      if (++count === 5) break;
    }
    await within(seen.done, 2000, "the server handler");
    expect(seen.ctx?.signal.aborted).toBe(true);
    expect(seen.sendError).toBeInstanceOf(SendError);
    await expect(call.status).rejects.toMatchObject({ code: status.CANCELLED });
  });

  it("deadline exceeded: the client's receiver rejects with DEADLINE_EXCEEDED and the handler's signal aborts", async () => {
    let ctxSeen: ServerContext | undefined;
    await start({
      chat: serveBidi<Msg, Msg>(async (requests, _responses, ctx) => {
        ctxSeen = ctx;
        for await (const _ of requests) {
          // never answers
        }
      }),
    });
    const deadline = Date.now() + 300;
    const call = bidiCall((md, o) => client().chat(md, o), { deadline });
    await call.tx.send({ n: 1 });
    const err = await within(
      call.rx.recv().then(
        () => undefined,
        (e: unknown) => e,
      ),
      5000,
      "the receiver",
    );
    expect(err).toBeInstanceOf(GrpcError);
    expect(err).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(ctxSeen?.deadline?.getTime()).toBeGreaterThan(Date.now() - 10_000);
    await within(
      new Promise<void>((resolve) => {
        if (ctxSeen?.signal.aborted) resolve();
        else ctxSeen?.signal.addEventListener("abort", () => resolve());
      }),
      2000,
      "the handler's signal",
    );
  });

  it("a server-streaming call is cancelled by leaving for-await early", async () => {
    let aborted: Promise<void> = Promise.resolve();
    await start({
      count: serveServerStream<Msg, Msg>(async (_req, responses, ctx) => {
        aborted = new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        for (let i = 0; ; i++) await responses.send({ n: i });
      }),
    });
    const { rx, status: final } = serverStreamCall((req, md, o) => client().count(req, md, o), { n: 0 });
    for await (const m of rx) if (m.n === 3) break;
    await within(aborted, 2000, "the handler's signal");
    await expect(final).rejects.toMatchObject({ code: status.CANCELLED });
  });
});
