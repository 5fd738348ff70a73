/**
 * Cancels and deadlines, on every pair of server and client transports (grpc-js with the adapters,
 * grpc-mpsc/h2): a cancel is never a half-close, and every handle of the call learns it at once.
 */
import { SendError } from "grpc-mpsc";
import { Code, GrpcError } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { rejection, sleep, within } from "../support/async.js";
import type { Msg } from "../support/grpc.js";
import { type BidiHandler, PAIRS, type ServerContext, transportsPerTest } from "../support/transport.js";

/** What the server handler saw: its context, and how its last pending send ended. */
interface Seen {
  ctx?: ServerContext;
  sendError?: unknown;
  sent: number;
  done: Promise<void>;
}

/** A bidi handler that sends forever (until a send fails) and records what happened. */
function foreverSender(): { chat: BidiHandler<Msg, Msg>; seen: Seen } {
  let finished: () => void = () => {};
  const seen: Seen = { sent: 0, done: new Promise<void>((r) => (finished = r)) };
  const chat: BidiHandler<Msg, Msg> = async (_requests, responses, ctx) => {
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
  };
  return { chat, seen };
}

/** Resolves with the signal's reason once it aborts. */
function abortReason(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener("abort", () => resolve(signal.reason));
  });
}

describe.each(PAIRS)("cancellation and deadlines: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("client cancel: the handler's signal aborts with CANCELLED and its pending send rejects with SendError within 1 s", async () => {
    const { chat, seen } = foreverSender();
    const client = await start({ chat });
    const call = client.chat();
    await call.rx.recv(); // the handler is running and sending
    call.cancel();
    await within(seen.done, 1000, "the handler's pending send");
    expect(seen.sendError).toBeInstanceOf(SendError);
    expect(seen.ctx?.signal.aborted).toBe(true);
    expect(seen.ctx?.signal.reason).toMatchObject({ code: Code.CANCELLED });
    await expect(call.status).rejects.toMatchObject({ code: Code.CANCELLED });
  });

  it("closing the server-streaming receiver cancels: the handler's parked send rejects with SendError", async () => {
    let aborted: Promise<unknown> = Promise.resolve();
    let sendError: unknown;
    const client = await start({
      count: async (_req, responses, ctx) => {
        aborted = abortReason(ctx.signal);
        try {
          for (let i = 0; ; i++) await responses.send({ n: i, text: "x".repeat(1000) });
        } catch (error) {
          sendError = error;
          throw error;
        }
      },
    });
    const { rx, status } = client.count({ n: 0 });
    await rx.recv(); // the call is live
    rx.close(); // nobody reads: this cancels
    await expect(within(aborted, 2000, "the handler's signal")).resolves.toMatchObject({
      code: Code.CANCELLED,
    });
    await expect(status).rejects.toMatchObject({ code: Code.CANCELLED });
    await within(
      (async () => {
        while (sendError === undefined) await sleep(5);
      })(),
      2000,
      "the handler's send",
    );
    expect(sendError).toBeInstanceOf(SendError);
  });

  it("a client cancel is never a half-close: the handler's requests reject with CANCELLED", async () => {
    let outcome: (value: unknown) => void = () => {};
    const seen = new Promise<unknown>((resolve) => {
      outcome = resolve;
    });
    const client = await start({
      chat: async (requests, responses) => {
        try {
          for await (const r of requests) await responses.send(r);
          outcome("ended as a half-close");
        } catch (error) {
          outcome(error);
        }
      },
    });
    const { tx, rx, cancel } = client.chat();
    await tx.send({ n: 1 });
    expect((await rx.recv())?.n).toBe(1); // the handler is reading
    cancel();
    await expect(within(seen, 3000, "the handler's outcome")).resolves.toMatchObject({
      code: Code.CANCELLED,
    });
  });

  it("a cancel in the same turn as a resolved send reaches the server (grpc-js alone loses it)", async () => {
    const ended: string[] = [];
    let started = 0;
    const client = await start({
      chat: async (requests, _responses, ctx) => {
        started++;
        try {
          for await (const _ of requests);
          ended.push("half-close");
        } catch {
          ended.push(ctx.signal.aborted ? "cancelled" : "error");
        }
      },
    });
    // The connection is up first (a call that ends OK), so that the cancelled calls reach the server.
    const first = client.chat();
    first.tx.close();
    await first.status;
    ended.length = started = 0;
    // Cancelled the way users write it: right after the first send resolved, and by an AbortSignal.
    for (let i = 0; i < 8; i++) {
      const controller = new AbortController();
      const call = client.chat({ signal: controller.signal });
      await call.tx.send({ n: i });
      if (i % 2 === 0) call.cancel();
      else controller.abort(new Error("the caller's reason"));
      await expect(call.status).rejects.toMatchObject({ code: Code.CANCELLED });
    }
    // Every call reached the server (the connection was up), and every handler hears the cancel at
    // once instead of waiting for the connection to close.
    await within(
      (async () => {
        while (ended.length < 8) await sleep(10);
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
    const { chat, seen } = foreverSender();
    const client = await start({ chat });
    const controller = new AbortController();
    const call = client.chat({ signal: controller.signal });
    await call.rx.recv();
    controller.abort();
    await within(seen.done, 1000, "the handler's pending send");
    expect(seen.ctx?.signal.aborted).toBe(true);
    await expect(call.status).rejects.toMatchObject({ code: Code.CANCELLED });
  });

  it("leaving for-await early on the client cancels the call, and the server sees the cancel", async () => {
    const { chat, seen } = foreverSender();
    const client = await start({ chat });
    const call = client.chat();
    let count = 0;
    for await (const _ of call.rx) {
      if (++count === 5) break;
    }
    await within(seen.done, 2000, "the server handler");
    expect(seen.ctx?.signal.aborted).toBe(true);
    expect(seen.ctx?.signal.reason).toMatchObject({ code: Code.CANCELLED });
    expect(seen.sendError).toBeInstanceOf(SendError);
    await expect(call.status).rejects.toMatchObject({ code: Code.CANCELLED });
  });

  it("a server-streaming call is cancelled by leaving for-await early", async () => {
    let aborted: Promise<unknown> = Promise.resolve();
    const client = await start({
      count: async (_req, responses, ctx) => {
        aborted = abortReason(ctx.signal);
        for (let i = 0; ; i++) await responses.send({ n: i });
      },
    });
    const { rx, status: final } = client.count({ n: 0 });
    for await (const m of rx) if (m.n === 3) break;
    await expect(within(aborted, 2000, "the handler's signal")).resolves.toMatchObject({
      code: Code.CANCELLED,
    });
    await expect(final).rejects.toMatchObject({ code: Code.CANCELLED });
  });

  it("deadline exceeded: the client's receiver rejects DEADLINE_EXCEEDED; the handler saw the deadline and its signal aborts", async () => {
    let ctxSeen: ServerContext | undefined;
    const client = await start({
      chat: async (requests, _responses, ctx) => {
        ctxSeen = ctx;
        for await (const _ of requests) {
          // never answers
        }
      },
    });
    const started = Date.now();
    const call = client.chat({ deadline: started + 300 });
    await call.tx.send({ n: 1 });
    const err = await within(rejection(call.rx.recv()), 5000, "the receiver");
    expect(err).toBeInstanceOf(GrpcError);
    expect(err).toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    const ctx = ctxSeen as ServerContext;
    expect(ctx.deadline).toBeInstanceOf(Date);
    expect(Math.abs((ctx.deadline as Date).getTime() - (started + 300))).toBeLessThan(250);
    const reason = await within(abortReason(ctx.signal), 2000, "the handler's signal");
    // The server's own timer says DEADLINE_EXCEEDED; a client that resets the stream first is a CANCEL.
    expect([Code.DEADLINE_EXCEEDED, Code.CANCELLED]).toContain((reason as GrpcError).code);
  });

  it("timeoutMs is a deadline relative to now, on the wire as grpc-timeout", async () => {
    let deadline: Date | undefined;
    const client = await start({
      chat: async (requests, _responses, ctx) => {
        deadline = ctx.deadline;
        for await (const _ of requests);
      },
    });
    const started = Date.now();
    const { tx, rx } = client.chat({ timeoutMs: 300 });
    await tx.send({ n: 1 });
    await expect(within(rx.recv(), 3000, "rx.recv")).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    expect(Math.abs((deadline as Date).getTime() - (started + 300))).toBeLessThan(250);
  });
});
