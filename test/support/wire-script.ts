/**
 * The server side of the wire interop script, on our transport: the same behaviour as the grpc-go
 * server (test/wire/go/server/main.go), chosen per call by the `x-mode` request header, so that the
 * grpc-go client's scenarios (test/wire/go/client/main.go) run against either. Every call's end, as
 * the handler saw it, is logged for the test to assert on.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { GrpcError } from "grpc-mpsc/grpc";
import { expect } from "vitest";
import { settledWithin, within } from "./async.js";
import type { Msg } from "./grpc.js";
import type { Handlers, ServerContext } from "./transport.js";

/** How one call ended, seen from our handler. */
export interface Ended {
  method: "Chat" | "Count" | "Sum" | "StreamMessages";
  mode: string;
  /** The requests the handler read. */
  read: Msg[];
  /** How reading ended: "end" (the client half-closed), or the error `requests` rejected with. */
  requestsEnd: unknown;
  /** `ctx.signal.reason` when the handler returned (undefined: not aborted). */
  abortReason: unknown;
  /** When `ctx.signal` aborted (`Date.now()`), or undefined. */
  abortedAt: number | undefined;
  /** `ctx.deadline` minus the time the handler started, in ms (undefined: no deadline). */
  deadlineMs: number | undefined;
  /** What the handler's own sending ended with ("ok" or the error). */
  sendEnd: unknown;
  /**
   * The handler's `ctx.signal` itself, to wait on: a handler that returns before the peer resets
   * (its last send queued, not yet written) logs no abortReason, yet its call still ends with one.
   */
  signal: AbortSignal;
}

/** The script's handlers and the log of the calls they ended, in order. */
export interface Scripted {
  handlers: Handlers;
  ended: readonly Ended[];
  /** The `index`-th call to end (from 0), waiting for it up to `ms`. */
  endedCall(index?: number, ms?: number): Promise<Ended>;
}

/**
 * Asserts how our handler saw a call end whose one response (5 MiB) the peer refused as over its
 * receive limit, by resetting the stream with a code our transport reads as `resetCode`. Which comes
 * first is a race the peer's flow-control window and the machine's load decide, and each order is
 * right:
 * - the reset came while the handler still read (the peer had not half-closed yet) or sent: the
 *   reads and the send fail with it, and `ctx.signal` aborted with it;
 * - the handler returned first (half-close read, send queued): the reset, when it comes before our
 *   status is out, aborts `ctx.signal` with it; when our status was out first (the whole response fit
 *   the peer's window), the call ended OK for us and `ctx.signal` stays as it was.
 */
export async function expectRefusedResponse(ended: Ended, resetCode: number): Promise<void> {
  if (ended.sendEnd !== "ok") {
    expect(ended.sendEnd).toMatchObject({ code: resetCode });
    expect(ended.requestsEnd).toBe(ended.sendEnd);
    expect(ended.abortReason).toMatchObject({ code: resetCode });
    return;
  }
  expect(ended.requestsEnd).toBe("end");
  const aborted = new Promise<unknown>((resolve) => {
    if (ended.signal.aborted) resolve(ended.signal.reason);
    else ended.signal.addEventListener("abort", () => resolve(ended.signal.reason), { once: true });
  });
  const reset = await settledWithin(aborted, 1000);
  if (reset !== "PENDING") expect(reset).toMatchObject({ v: { code: resetCode } });
}

/** The script's handlers, logging every call's end. */
export function scriptedHandlers(): Scripted {
  const ended: Ended[] = [];
  const listeners = new Set<() => void>();
  const log = (e: Ended): void => {
    ended.push(e);
    for (const l of [...listeners]) l();
  };
  const endedCall = (index = 0, ms = 5000): Promise<Ended> => {
    let check = (): void => {};
    const found = new Promise<Ended>((resolve) => {
      check = () => {
        const e = ended[index];
        if (e !== undefined) resolve(e);
      };
      listeners.add(check);
      check();
    });
    return within(found, ms, `the end of call ${index} in our handler`).finally(() =>
      listeners.delete(check),
    );
  };
  const watchAbort = (ctx: ServerContext): (() => number | undefined) => {
    let at: number | undefined;
    if (ctx.signal.aborted) at = Date.now();
    else ctx.signal.addEventListener("abort", () => (at = Date.now()), { once: true });
    return () => at;
  };
  const start = (ctx: ServerContext) => {
    const began = Date.now();
    return {
      mode: ctx.metadata.get("x-mode")[0]?.toString() ?? "echo",
      deadlineMs: ctx.deadline === undefined ? undefined : ctx.deadline.getTime() - began,
      abortedAt: watchAbort(ctx),
    };
  };
  const aborted = (ctx: ServerContext): Promise<void> =>
    new Promise((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });

  const handlers: Handlers = {
    async chat(requests, responses, ctx) {
      const { mode, deadlineMs, abortedAt } = start(ctx);
      const read: Msg[] = [];
      let requestsEnd: unknown = "pending";
      let sendEnd: unknown = "ok";
      const done = () =>
        log({
          method: "Chat",
          mode,
          read,
          requestsEnd,
          abortReason: ctx.signal.reason,
          signal: ctx.signal,
          abortedAt: abortedAt(),
          deadlineMs,
          sendEnd,
        });
      try {
        if (mode === "hold") {
          const headers = new Metadata();
          headers.set("x-held", "yes");
          ctx.sendMetadata(headers);
          const reading = (async () => {
            try {
              for await (const m of requests) read.push(m);
              requestsEnd = "end";
            } catch (err) {
              requestsEnd = err;
            }
          })();
          await aborted(ctx);
          await reading;
          return;
        }
        if (mode === "fail") {
          const first = await requests.recv();
          if (first !== undefined) read.push(first);
          ctx.trailers.set("retry-after-ms", "250");
          ctx.trailers.set("reason-bin", Buffer.from([0, 1, 2]));
          throw new GrpcError(status.INVALID_ARGUMENT, `rejected n=${first?.n}`);
        }
        try {
          for await (const m of requests) {
            read.push(m);
            if (mode === "size") await responses.send({ n: m.n, text: "x".repeat(m.n) });
            else if (mode !== "after-half-close") await responses.send(m);
          }
          requestsEnd = "end";
          if (mode === "after-half-close") {
            for (let i = 0; i < 3; i++)
              await responses.send({ n: read.length + i, text: "after half-close" });
          }
        } catch (err) {
          if (requestsEnd === "pending") requestsEnd = err;
          sendEnd = err;
          throw err;
        }
        // A binary request header comes back as a trailer: -bin metadata crosses both ways.
        const token = ctx.metadata.get("x-token-bin")[0];
        if (token !== undefined) ctx.trailers.set("x-token-bin", token);
        ctx.trailers.set("x-echoed", String(read.length));
      } finally {
        done();
      }
    },
    async count(request, responses, ctx) {
      const { deadlineMs, abortedAt } = start(ctx);
      let sendEnd: unknown = "ok";
      try {
        for (let i = 0; i < request.n; i++) await responses.send({ n: i });
        if (request.text === "hold") await aborted(ctx);
      } catch (err) {
        sendEnd = err;
      } finally {
        log({
          method: "Count",
          mode: request.text ?? "",
          read: [request],
          requestsEnd: "end",
          abortReason: ctx.signal.reason,
          signal: ctx.signal,
          abortedAt: abortedAt(),
          deadlineMs,
          sendEnd,
        });
      }
    },
    async sum(requests, ctx) {
      const { deadlineMs, abortedAt } = start(ctx);
      const read: Msg[] = [];
      let requestsEnd: unknown = "end";
      try {
        for await (const m of requests) read.push(m);
      } catch (err) {
        requestsEnd = err;
        throw err;
      } finally {
        log({
          method: "Sum",
          mode: "sum",
          read,
          requestsEnd,
          abortReason: ctx.signal.reason,
          signal: ctx.signal,
          abortedAt: abortedAt(),
          deadlineMs,
          sendEnd: "ok",
        });
      }
      return { n: read.reduce((a, m) => a + m.n, 0), text: `count=${read.length}` };
    },
    async streamMessages(requests, responses) {
      for await (const req of requests) await responses.send({ message: `echo: ${req.name}` });
    },
  };
  return { handlers, ended, endedCall };
}
