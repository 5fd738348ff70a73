/**
 * A handler's handles (`requests`, `responses`, `ctx.signal`) for each way a server call ends, the
 * process surviving every handler mistake (these tests run with --unhandled-rejections=strict), and
 * the lifetimes of handles, the client's collected ones too: on every pair of server and client
 * transports (grpc-js with the adapters, grpc-mpsc/h2), but for what only grpc-js has.
 */
import { connect } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { Metadata, status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { bidiCall, GrpcError, serveBidi, streamingServerOptions } from "grpc-mpsc/grpc";
import { afterEach, describe, expect, it, vi } from "vitest";
import { collectGarbage, outcome, watch, within } from "../support/async.js";
import { harnessPerTest, type Msg } from "../support/grpc.js";
import {
  type ServerContext as AnyServerContext,
  type BidiHandler,
  type ClientUnderTest,
  PAIRS,
  transportsPerTest,
} from "../support/transport.js";

const { start, client } = harnessPerTest();

afterEach(() => {
  vi.restoreAllMocks();
});

/** What a handler saw of its call. */
interface Seen {
  ctx?: AnyServerContext;
  received: number[];
  /** How `for await (const r of requests)` ended: `"end"` or the error it threw. */
  requests?: "end" | unknown;
  /** Whether `ctx.signal` was aborted when `requests` ended or threw. */
  abortedWhenRequestsEnded?: boolean;
  sendError?: unknown;
  done: Promise<void>;
}

/**
 * A handler that reads every request, records how its requests ended, and keeps sending a response
 * every few ms (a hello loop, as the seed's server) until a send fails.
 */
function recorder(): { impl: BidiHandler<Msg, Msg>; seen: Seen } {
  let finished: () => void = () => {};
  const seen: Seen = { received: [], done: new Promise<void>((r) => (finished = r)) };
  const impl: BidiHandler<Msg, Msg> = async (requests, responses, ctx) => {
    seen.ctx = ctx;
    const reading = (async () => {
      try {
        for await (const r of requests) seen.received.push(r.n);
        seen.requests = "end";
      } catch (err) {
        seen.requests = err;
      }
      seen.abortedWhenRequestsEnded = ctx.signal.aborted;
    })();
    try {
      for (let n = 0; ; n++) {
        await responses.send({ n });
        await sleep(2);
      }
    } catch (err) {
      seen.sendError = err;
    }
    await reading;
    finished();
  };
  return { impl, seen };
}

describe.each(PAIRS)("how a handler learns that its call ended: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("half-close: requests ends after the last message, the call goes on, and the client keeps receiving", async () => {
    const { impl, seen } = recorder();
    const client = await start({ chat: impl });
    const call = client.chat();
    for (let n = 0; n < 3; n++) await call.tx.send({ n });
    call.tx.close();
    let got = 0;
    for await (const _ of call.rx) {
      if (++got === 30) break; // 30 responses, most of them after the half-close; then leave (cancel)
    }
    await within(seen.done, 5000, "the handler");
    expect(seen.requests).toBe("end");
    expect(seen.received).toEqual([0, 1, 2]);
    expect(seen.abortedWhenRequestsEnded).toBe(false);
    expect(seen.sendError).toBeInstanceOf(SendError); // the client left by cancelling
    expect(seen.ctx?.signal.reason).toMatchObject({ code: status.CANCELLED });
  });

  it("client cancel is not a half-close: requests rejects with CANCELLED, ctx.signal is aborted by then, the parked send gets its value back", async () => {
    const { impl, seen } = recorder();
    const client = await start({ chat: impl });
    const call = client.chat();
    await call.tx.send({ n: 7 });
    await call.rx.recv();
    call.cancel();
    await within(seen.done, 5000, "the handler");
    expect(seen.received).toEqual([7]);
    expect(seen.requests).toBeInstanceOf(GrpcError);
    expect(seen.requests).toMatchObject({ code: status.CANCELLED });
    expect(seen.abortedWhenRequestsEnded).toBe(true);
    expect(seen.ctx?.signal.reason).toBe(seen.requests);
    expect(seen.sendError).toBeInstanceOf(SendError);
    expect((seen.sendError as SendError<Msg>).value).toHaveProperty("n");
    expect((seen.sendError as Error).cause).toBe(seen.requests);
  });

  it("100 cancels while the server writes: every handler's requests rejects, none reads as a half-close", async () => {
    // A grpc-js client that cancels sends END_STREAM just before RST_STREAM: the server must wait for the reset.
    const ends: Record<string, number> = {};
    let handled = 0;
    let allDone: () => void = () => {};
    const done = new Promise<void>((r) => (allDone = r));
    const client = await start({
      chat: async (requests, responses) => {
        const reading = outcome(
          (async () => {
            for await (const _ of requests) {
              // names
            }
          })(),
        );
        try {
          for (let n = 0; ; n++) {
            await responses.send({ n, text: "w".repeat(200) });
            if (n % 5 === 4) await sleep(1);
          }
        } catch {
          // the client left
        }
        const { error } = await reading;
        const key = error === undefined ? "clean end" : String((error as GrpcError).code);
        ends[key] = (ends[key] ?? 0) + 1;
        if (++handled === 100) allDone();
      },
    });
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const call = client.chat();
        await call.tx.send({ n: i });
        await call.rx.recv();
        await sleep(i % 20);
        call.cancel();
      }),
    );
    await within(done, 10_000, "every handler");
    expect(ends).toEqual({ [String(status.CANCELLED)]: 100 });
  });

  it("deadline: requests rejects with DEADLINE_EXCEEDED, as ctx.signal does", async () => {
    const { impl, seen } = recorder();
    const client = await start({ chat: impl });
    const call = client.chat({ timeoutMs: 200 });
    await call.tx.send({ n: 1 });
    await within(seen.done, 5000, "the handler");
    expect(seen.requests).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(seen.ctx?.signal.reason).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(seen.ctx?.deadline).toBeInstanceOf(Date);
  });

  it("a message over the size limit: requests rejects with RESOURCE_EXHAUSTED, not CANCELLED", async () => {
    const { impl, seen } = recorder();
    const client = await start({ chat: impl }, { server: { maxReceiveMessageLength: 1024 } });
    const call = client.chat();
    await call.tx.send({ n: 1 });
    // Once the handler has it: an h2 client's burst would put both in one DATA frame, and a grpc-js
    // server drops a message it has not handed over yet when the next one fails the call.
    await within(
      (async () => {
        while (seen.received.length === 0) await sleep(2);
      })(),
      5000,
      "the first request",
    );
    await call.tx.send({ n: 2, text: "z".repeat(4096) }).catch(() => {});
    await within(seen.done, 5000, "the handler");
    expect(seen.received).toEqual([1]);
    expect(seen.requests).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    await expect(call.status).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it("undecodable bytes: requests rejects with INTERNAL", async () => {
    const { impl, seen } = recorder();
    const client = await start({ chat: impl });
    const call = client.chat();
    await call.tx.send({ n: 1 });
    await call.tx.send({ n: 2, raw: "{not json" }).catch(() => {});
    await within(seen.done, 5000, "the handler");
    expect(seen.requests).toMatchObject({ code: status.INTERNAL });
  });
});

// The h2 server answers an unsupported encoding before any handler runs (test/h2/hostile.test.ts).
describe("how a grpc-js handler learns of input grpc-js refuses", () => {
  it("an unsupported message encoding (raw HTTP/2 peer): requests rejects with UNIMPLEMENTED", async () => {
    const { impl, seen } = recorder();
    const h = await start({ chat: serveBidi<Msg, Msg>(impl) });
    const session = connect(`http://127.0.0.1:${h.port}`);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/test.Test/Chat",
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-encoding": "bogus",
      });
      const body = Buffer.from(JSON.stringify({ n: 1 }));
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt8(1, 0); // compressed, with the encoding named in the headers
      frame.writeUInt32BE(body.length, 1);
      body.copy(frame, 5);
      stream.on("error", () => {});
      stream.resume();
      stream.write(frame);
      await within(seen.done, 5000, "the handler");
      expect(seen.requests).toMatchObject({ code: status.UNIMPLEMENTED });
      stream.close();
    } finally {
      session.destroy();
    }
  });
});

describe.each(PAIRS)("one call never takes the process down: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("responses.send without await after the client left: no unhandled rejection; onError gets the refused value once", async () => {
    const reported: unknown[] = [];
    let ctxSeen: AnyServerContext | undefined;
    let returned: () => void = () => {};
    const done = new Promise<void>((r) => (returned = r));
    const client = await start(
      {
        chat: async (_requests, responses, ctx) => {
          ctxSeen = ctx;
          // fire and forget: nothing awaits these sends
          for (let n = 0; n < 200 && !ctx.signal.aborted; n++) {
            void responses.send({ n, text: "q".repeat(1024) });
            await sleep(1);
          }
          await sleep(20);
          void responses.send({ n: -1 }); // after the end, too
          await sleep(20);
          returned();
        },
      },
      { server: { onError: (e) => reported.push(e), responseCapacity: 2 } },
    );
    const call = client.chat();
    await call.rx.recv();
    call.cancel();
    await within(done, 5000, "the handler");
    expect(ctxSeen?.signal.aborted).toBe(true);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(SendError);
    expect((reported[0] as Error).cause).toMatchObject({ code: status.CANCELLED });
  });

  it.each([
    ["through a timer aborted by ctx.signal: not reported", false],
    ["and then hits a real bug: reported", true],
  ])("a handler leaves a cancelled call %s", async (_, bug) => {
    const reported: unknown[] = [];
    let finished: () => void = () => {};
    const done = new Promise<void>((r) => (finished = r));
    const client = await start(
      {
        chat: async (_requests, responses, ctx) => {
          try {
            await responses.send({ n: 0 });
            // rejects with an AbortError once the client cancels
            await sleep(10_000, undefined, { signal: ctx.signal }).catch((err: unknown) => {
              if (bug) throw new TypeError("a real bug");
              throw err;
            });
          } finally {
            setImmediate(finished);
          }
        },
      },
      { server: { onError: (e) => reported.push(e) } },
    );
    const call = client.chat();
    await call.rx.recv();
    call.cancel();
    await within(done, 5000, "the handler");
    await sleep(20);
    if (bug) expect(reported).toEqual([new TypeError("a real bug")]);
    else expect(reported).toEqual([]);
  });

  it("an onError that throws: the client gets UNKNOWN and the process lives", async () => {
    const line = vi.spyOn(console, "error").mockImplementation(() => {});
    const client = await start(
      {
        chat: async () => {
          throw new Error("handler bug");
        },
      },
      {
        server: {
          onError: () => {
            throw new Error("logger down");
          },
        },
      },
    );
    const call = client.chat();
    await expect(call.status).rejects.toMatchObject({ code: status.UNKNOWN, details: "internal error" });
    expect(line).toHaveBeenCalledTimes(1);
    expect(String(line.mock.calls[0]?.[0])).toContain("logger down");
  });

  it("a thrown value whose code getter and inspect hook throw: UNKNOWN, and the default onError line names the method", async () => {
    const line = vi.spyOn(console, "error").mockImplementation(() => {});
    const hostile = {
      get code(): number {
        throw new Error("code getter");
      },
      get message(): string {
        throw new Error("message getter");
      },
      [Symbol.for("nodejs.util.inspect.custom")](): string {
        throw new Error("inspect hook");
      },
    };
    const client = await start({
      chat: async () => {
        throw hostile;
      },
    });
    const call = client.chat();
    await expect(call.status).rejects.toMatchObject({ code: status.UNKNOWN, details: "internal error" });
    expect(line).toHaveBeenCalledTimes(1);
    expect(String(line.mock.calls[0]?.[0])).toContain("/test.Test/Chat");
  });

  it("a receiver closed in the same tick as its parked message is let in: no crash, nothing delivered after the close", async () => {
    let after: unknown = "unset";
    let finished: () => void = () => {};
    const done = new Promise<void>((r) => (finished = r));
    const client = await start(
      {
        chat: async (requests) => {
          await sleep(50); // the pump parks a message: the receiver (capacity 1) is full
          await requests.recv(); // frees the slot: the parked message is let in...
          requests.close(); // ...and the receiver closes in the same tick
          await sleep(50);
          after = requests.tryRecv();
          finished();
        },
      },
      { server: { requestCapacity: 1 } },
    );
    const call = client.chat();
    for (let n = 0; n < 5; n++) await call.tx.send({ n });
    await within(done, 5000, "the handler");
    // the one value let in before the close is still receivable; nothing came after it
    expect(after).toEqual({ ok: true, value: { n: 1 } });
    call.cancel();
  });
});

describe("streamingServerOptions", () => {
  it("caps the streams of one connection: a stream beyond the cap waits for one to end instead of failing", async () => {
    let open = 0;
    let most = 0;
    await start(
      {
        chat: serveBidi<Msg, Msg>(async (requests, responses) => {
          most = Math.max(most, ++open);
          for await (const r of requests) await responses.send(r);
          open--;
        }),
      },
      { ...streamingServerOptions, "grpc.max_concurrent_streams": 2 },
    );
    const calls = [0, 1, 2].map(() => bidiCall((md, o) => client().chat(md, o)));
    await sleep(200);
    expect(open).toBe(2); // the third waits on the client
    for (const call of calls) call.tx.close();
    for (const call of calls) expect((await within(call.status, 5000, "status")).code).toBe(status.OK);
    expect(most).toBe(2);
  });
});

describe.each(PAIRS)("handles and their lifetimes: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("a handler may return at once and leave a clone of responses to a background task: the call lasts until the clone closes", async () => {
    const client = await start({
      chat: async (_requests, responses) => {
        const hellos = responses.clone();
        void (async () => {
          for (let n = 0; n < 5; n++) {
            await sleep(5);
            await hellos.send({ n });
          }
          hellos.close();
        })();
      },
    });
    const call = client.chat();
    const got: number[] = [];
    for await (const m of call.rx) got.push(m.n);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect((await call.status).code).toBe(status.OK);
  });

  it("trailers set on ctx reach the client with an OK status and with an error", async () => {
    let fail = false;
    const client = await start({
      chat: async (_requests, _responses, ctx) => {
        ctx.trailers.set("x-took-ms", "3");
        if (fail) {
          const md = new Metadata();
          md.set("x-why", "quota");
          throw new GrpcError(status.RESOURCE_EXHAUSTED, "slow down", md);
        }
      },
    });
    const ok = await client.chat().status;
    expect(ok.metadata.get("x-took-ms")).toEqual(["3"]);
    fail = true;
    const { error } = await outcome(client.chat().status);
    expect((error as GrpcError).metadata.get("x-took-ms")).toEqual(["3"]);
    expect((error as GrpcError).metadata.get("x-why")).toEqual(["quota"]);
  });
});

describe.each(PAIRS)("client handles collected by GC: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  /** Opens a call and keeps only `keep` of it; the rest is dropped and watched through a WeakRef. */
  function openKeeping<K extends "tx" | "rx">(client: ClientUnderTest, keep: K) {
    const call = client.chat();
    const dropped = new WeakRef(keep === "tx" ? call.rx : call.tx);
    return { kept: call[keep], status: call.status, dropped };
  }

  it("keeping only tx (send-only): the dropped rx does not cancel the call; all 200 requests arrive (grpc-js: rx collected, status OK; h2: rx held by the call, the status waits for it)", async () => {
    let arrived = 0;
    let ended: "end" | unknown;
    const client = await start({
      chat: async (requests, responses) => {
        try {
          for await (const _ of requests) {
            arrived++;
            await responses.send({ n: arrived }); // responses nobody reads any more
          }
          ended = "end";
        } catch (err) {
          ended = err;
        }
      },
    });
    const { kept: tx, status: final, dropped } = openKeeping(client, "tx");
    for (let n = 0; n < 200; n++) {
      await tx.send({ n });
      if (n % 20 === 0) await collectGarbage();
    }
    tx.close();
    if (pair.client.name === "grpc-js") {
      expect(dropped.deref()).toBeUndefined(); // rx was collected while the call went on
      expect((await within(final, 5000, "status")).code).toBe(status.OK);
    } else {
      // The h2 call holds its rx while it lives (docs/h2.md), and applies the OK status once every
      // response before it was read: nobody reads them, so the status waits (docs/guarantees.md).
      expect(dropped.deref()).toBeDefined();
      const pending = watch(final);
      await sleep(300);
      expect(pending.settled).toBe(false);
    }
    expect(arrived).toBe(200);
    expect(ended).toBe("end");
  });

  it("keeping only rx (receive-only): the call goes on to its end; the collected tx does not half-close it on grpc-js, it does on h2", async () => {
    let halfClosed = false;
    const client = await start({
      chat: async (requests, responses) => {
        void (async () => {
          for await (const _ of requests) {
            // nothing is sent
          }
          halfClosed = true;
        })().catch(() => {});
        for (let n = 0; n < 50; n++) {
          await responses.send({ n });
          await sleep(2);
        }
        await responses.send({ n: halfClosed ? -1 : 50 });
      },
    });
    const { kept: rx, dropped } = openKeeping(client, "rx");
    const got: number[] = [];
    for await (const m of rx) {
      got.push(m.n);
      if (m.n % 10 === 0) await collectGarbage();
    }
    expect(dropped.deref()).toBeUndefined(); // tx was collected while the call went on
    // grpc-js: no half-close while rx is in use (-1 if it had); h2: a collected tx half-closes, as close() does.
    expect(got.at(-1)).toBe(pair.client.name === "grpc-js" ? 50 : -1);
    expect(got).toHaveLength(51);
  });

  it("every handle dropped unclosed: the handler learns it (grpc-js: both collected, the call is cancelled; h2: the collected tx half-closes it)", async () => {
    let requestsEnd: unknown;
    let started: () => void = () => {};
    const running = new Promise<void>((r) => (started = r));
    let finished: () => void = () => {};
    const done = new Promise<void>((r) => (finished = r));
    const client = await start({
      chat: async (requests) => {
        started();
        requestsEnd = (await outcome(requests.recv())).error;
        finished();
      },
    });
    const refs = (() => {
      const call = client.chat(); // every handle dropped when this returns
      return [new WeakRef(call.tx), new WeakRef(call.rx)];
    })();
    await within(running, 5000, "the handler to start");
    const handler = watch(done);
    for (let i = 0; i < 50 && !handler.settled; i++) {
      await collectGarbage();
      await sleep(10);
    }
    await within(done, 5000, "the handler");
    if (pair.client.name === "grpc-js") {
      expect(refs.map((r) => r.deref())).toEqual([undefined, undefined]);
      expect(requestsEnd).toMatchObject({ code: status.CANCELLED });
    } else {
      // h2: the collected tx half-closes the call; its rx is held by the call until the call ends.
      expect(refs[0]?.deref()).toBeUndefined();
      expect(requestsEnd).toBeUndefined();
    }
  });
});
