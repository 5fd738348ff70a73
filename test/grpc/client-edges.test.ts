/**
 * The client's handles (`tx`, `rx`, `status`, `headers`) for each way a call ends: what the caller's
 * code sees, and that it sees it at once, on every pair of server and client transports (grpc-js with
 * the adapters, grpc-mpsc/h2); the grpc-js server's `shutdownServer` on its own.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { Metadata, status } from "@grpc/grpc-js";
import { type Receiver, SendError } from "grpc-mpsc";
import { bidiCall, GrpcError, serveBidi, shutdownServer } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { collectGarbage, outcome, sendUntilRefused, watch, within } from "../support/async.js";
import { harnessPerTest, type Msg } from "../support/grpc.js";
import { PAIRS, transportsPerTest } from "../support/transport.js";

/** A handler that reads one request and then neither reads nor answers. */
async function readOneThenStall(requests: Receiver<Msg>): Promise<void> {
  await requests.recv();
  await sleep(10_000);
}

/** A request big enough that a few of them fill HTTP/2's flow-control window of a call nobody reads. */
const big = (n: number): Msg => ({ n, text: "x".repeat(64 * 1024) });

describe.each(PAIRS)("a producer always learns that its call ended: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("bidi ended OK by a server that stopped reading: the parked send rejects with its value as the status arrives, later sends at once", async () => {
    const client = await start({
      chat: async (requests) => {
        await requests.recv();
        await sleep(100); // the client fills the window meanwhile
      },
    });
    const call = client.chat({ requestCapacity: 2 });
    const final = watch(call.status);
    const closed = watch(call.tx.closed());
    const producer = await within(sendUntilRefused(call.tx, big), 5000, "the producer");
    expect(producer.error).toBeInstanceOf(SendError);
    expect((producer.error as SendError<Msg>).value).toEqual(big(producer.sent));
    expect((producer.error as Error).cause).toBeUndefined(); // an OK end has no error to give
    await final.done;
    expect(final.value?.code).toBe(status.OK);
    // Every send that resolved did so before the call ended: none resolved into a dead call.
    expect(producer.lastResolvedAt).toBeLessThanOrEqual(final.at);
    // The parked send learned it in the same turn as the status, and so did the rest.
    await closed.done;
    expect(call.tx.isClosed).toBe(true);
    await expect(call.tx.send(big(-1))).rejects.toBeInstanceOf(SendError);
    expect(await within(call.rx.recv(), 1000, "rx")).toBeUndefined();
  });

  it("client streaming whose server rejects after one message: the upload does not hang, the parked send gets its value back", async () => {
    const client = await start({
      sum: async (requests) => {
        await requests.recv();
        throw new GrpcError(status.INVALID_ARGUMENT, "the first chunk is bad");
      },
    });
    const call = client.sum({ requestCapacity: 2 });
    const producer = await within(sendUntilRefused(call.tx, big), 5000, "the producer");
    expect(producer.error).toBeInstanceOf(SendError);
    const cause = (producer.error as Error).cause;
    expect(cause).toBeInstanceOf(GrpcError);
    expect(cause).toMatchObject({ code: status.INVALID_ARGUMENT, details: "the first chunk is bad" });
    await expect(call.response).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(call.status).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it("bidi ended OK at once: no send resolves after the status, and 300 such calls leave no heap behind", async () => {
    const client = await start({ chat: async () => {} });
    const one = async (): Promise<number> => {
      const call = client.chat({ requestCapacity: 4 });
      await call.status;
      let resolved = 0;
      for (let n = 0; n < 40; n++) {
        await call.tx.send({ n }).then(
          () => resolved++,
          () => {},
        );
      }
      return resolved;
    };
    for (let i = 0; i < 50; i++) expect(await one()).toBe(0); // warm-up
    await collectGarbage();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 300; i++) expect(await one()).toBe(0);
    await collectGarbage();
    const grown = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    console.log(`300 calls ended OK early: heap ${grown.toFixed(2)} MiB`);
    expect(grown).toBeLessThan(2); // was 8 MiB when each call kept 32 dead sends
  });

  it("cancel(): every handle learns it in the same turn (parked send, rx, status), with the caller's reason as cause", async () => {
    const client = await start({
      chat: readOneThenStall,
    });
    const call = client.chat({ requestCapacity: 1 });
    const producer = watch(sendUntilRefused(call.tx, big));
    const received = watch(call.rx.recv());
    const final = watch(call.status);
    await sleep(100); // parked by now
    expect(producer.settled).toBe(false);
    const why = new Error("the user closed the page");
    call.cancel(why);
    await final.done;
    await nextTurn(); // no I/O in between: the same turn of the event loop
    expect(producer.settled && received.settled).toBe(true);
    expect(final.error).toMatchObject({ code: status.CANCELLED, cause: why });
    expect(received.error).toBe(final.error);
    const { error } = producer.value as { error: unknown };
    expect(error).toBeInstanceOf(SendError);
    expect((error as Error).cause).toBe(final.error);
  });

  it("deadline (timeoutMs): rx, status and the parked send report DEADLINE_EXCEEDED", async () => {
    const client = await start({
      chat: readOneThenStall,
    });
    const call = client.chat({ requestCapacity: 1, timeoutMs: 300 });
    const producer = await within(sendUntilRefused(call.tx, big), 5000, "the producer");
    expect((producer.error as Error).cause).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    await expect(call.rx.recv()).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    await expect(call.status).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });
});

describe.each(PAIRS)("abort reasons, deadlines and headers: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("an AbortSignal's reason is the cause of the call's error; AbortSignal.timeout reads as DEADLINE_EXCEEDED; a GrpcError reason keeps its code", async () => {
    const client = await start({ chat: async () => void (await sleep(10_000)) });
    const controller = new AbortController();
    const why = new Error("navigated away");
    const aborted = client.chat({ signal: controller.signal });
    controller.abort(why);
    const a = await outcome(aborted.status);
    expect(a.error).toBeInstanceOf(GrpcError);
    expect(a.error).toMatchObject({ code: status.CANCELLED, cause: why });

    const timed = client.chat({ signal: AbortSignal.timeout(50) });
    const t = await within(outcome(timed.status), 5000, "the timed-out call");
    expect(t.error).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(((t.error as Error).cause as Error).name).toBe("TimeoutError");

    const upstream = new GrpcError(status.UNAVAILABLE, "server shutting down");
    const propagated = client.chat({ signal: AbortSignal.abort(upstream) });
    const p = await outcome(propagated.rx.recv());
    expect(p.error).toMatchObject({ code: status.UNAVAILABLE, cause: upstream });
  });

  it("a number that cannot be an epoch-ms deadline is a RangeError that points to timeoutMs", async () => {
    const client = await start({});
    expect(() => client.chat({ deadline: 150 })).toThrow(RangeError);
    expect(() => client.chat({ deadline: 150 })).toThrow(/timeoutMs/);
    expect(() => client.chat({ deadline: Number.NaN })).toThrow(/deadline/);
    expect(() => client.chat({ timeoutMs: -1 })).toThrow(/timeoutMs/);
  });

  it("headers resolve with the initial metadata; a trailers-only error rejects them; a trailers-only OK resolves empty", async () => {
    let mode: "headers" | "fail" | "ok" = "headers";
    const client = await start({
      count: async (_req, responses, ctx) => {
        if (mode === "fail") throw new GrpcError(status.NOT_FOUND, "nothing to count");
        if (mode === "ok") return;
        const md = new Metadata();
        md.set("x-shard", "7");
        ctx.sendMetadata(md);
        await responses.send({ n: 1 });
      },
    });
    const withHeaders = client.count({ n: 0 });
    expect((await withHeaders.headers).get("x-shard")).toEqual(["7"]);
    mode = "fail";
    const failed = client.count({ n: 0 });
    await expect(failed.headers).rejects.toMatchObject({ code: status.NOT_FOUND });
    mode = "ok";
    const empty = client.count({ n: 0 });
    expect((await empty.headers).get("x-shard")).toEqual([]);
  });

  it("status waits for rx: it stays pending while a streaming server is held by a full, unread rx, and settles once rx is read", async () => {
    const client = await start({
      count: async (_req, responses) => {
        for (let n = 0; n < 2000; n++) await responses.send({ n, text: "y".repeat(1024) });
      },
    });
    const call = client.count({ n: 0 }, { responseCapacity: 4 });
    const final = watch(call.status);
    await sleep(200);
    expect(final.settled).toBe(false); // the documented trap: awaiting status first would hang here
    let got = 0;
    for await (const _ of call.rx) got++;
    await final.done;
    expect(got).toBe(2000);
    expect(final.value?.code).toBe(status.OK);
  });
});

describe.each(PAIRS)("sends nobody awaited: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("a tx.send nobody awaits that is refused is reported to onError once, not as an unhandled rejection", async () => {
    const client = await start({ chat: async () => {} });
    const reported: unknown[] = [];
    const call = client.chat({ onError: (e) => reported.push(e) });
    await call.status;
    for (let n = 0; n < 3; n++) void call.tx.send({ n });
    await sleep(20);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(SendError);
    expect((reported[0] as SendError<Msg>).value).toEqual({ n: 0 });
    expect((reported[0] as Error).message).toMatch(/^3 sends/);
  });

  it("a refused send that is awaited is not reported", async () => {
    const client = await start({ chat: async () => {} });
    const reported: unknown[] = [];
    const call = client.chat({ onError: (e) => reported.push(e) });
    await call.status;
    await expect(call.tx.send({ n: 1 })).rejects.toBeInstanceOf(SendError);
    await sleep(20);
    expect(reported).toEqual([]);
  });
});

describe.each(PAIRS)("the client closes rx: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("what rx holds stays receivable, then it ends without rejecting; tx, status and the server hear CANCELLED", async () => {
    let serverSaw: unknown;
    let finished: () => void = () => {};
    const handlerDone = new Promise<void>((r) => (finished = r));
    const client = await start({
      chat: async (requests, responses, ctx) => {
        try {
          for (let n = 0; n < 5; n++) await responses.send({ n });
          await requests.recv(); // the client never sends: this waits for the call's end
        } catch {
          // the cancel
        }
        serverSaw = ctx.signal.reason;
        finished();
      },
    });
    const call = client.chat({ responseCapacity: 8 });
    const final = watch(call.status);
    for (let i = 0; i < 200 && call.rx.len < 5; i++) await sleep(5);
    expect(call.rx.len).toBe(5);
    call.rx.close();
    const got: number[] = [];
    for await (const m of call.rx) got.push(m.n);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    await final.done;
    expect(final.error).toMatchObject({ code: status.CANCELLED });
    await expect(call.tx.send({ n: -1 })).rejects.toBeInstanceOf(SendError);
    await within(handlerDone, 2000, "the handler");
    expect(serverSaw).toMatchObject({ code: status.CANCELLED });
  });
});

describe("shutdownServer (the grpc-js server's graceful stop; h2's own shutdown: test/h2/edges)", () => {
  const { start, client } = harnessPerTest();

  it("server shutdown: open streams end at once with UNAVAILABLE, and the server stops without waiting out its grace", async () => {
    const stopping = new AbortController();
    const server: { requests?: unknown; signal?: unknown; send?: unknown } = {};
    let handlerDone: () => void = () => {};
    const handlerEnded = new Promise<void>((r) => (handlerDone = r));
    const h = await start({
      chat: serveBidi<Msg, Msg>(
        async (requests, responses, ctx) => {
          void outcome(requests.recv()).then((o) => (server.requests = o.error));
          try {
            for (let n = 0; ; n++) {
              await responses.send({ n }); // a hello loop that never ends by itself
              await sleep(5);
            }
          } catch (err) {
            server.send = err;
            server.signal = ctx.signal.reason;
          }
          handlerDone();
        },
        { shutdownSignal: stopping.signal },
      ),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    expect((await call.rx.recv())?.n).toBe(0);
    const t0 = Date.now();
    const stopped = await within(
      shutdownServer(h.server, { abort: stopping, graceMs: 10_000 }),
      5000,
      "shutdown",
    );
    expect(stopped.forced).toBe(false);
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(call.status).rejects.toMatchObject({ code: status.UNAVAILABLE });
    const rest = await outcome(
      (async () => {
        for await (const _ of call.rx) {
          // the hellos sent before the shutdown
        }
      })(),
    );
    expect(rest.error).toMatchObject({ code: status.UNAVAILABLE });
    await expect(call.tx.send({ n: 1 })).rejects.toBeInstanceOf(SendError);
    // and the handler's side: requests, the next send and ctx.signal all say UNAVAILABLE
    await within(handlerEnded, 1000, "the handler");
    expect(server.requests).toMatchObject({ code: status.UNAVAILABLE });
    expect(server.signal).toMatchObject({ code: status.UNAVAILABLE });
    expect(server.send).toBeInstanceOf(SendError);
    expect((server.send as Error).cause).toBe(server.signal);
  });
});
