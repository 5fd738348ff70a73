/** Attacks through the API that held up: odd deadlines, odd thrown values, metadata twice, permits. */
import { Metadata, status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { bidiCall, type ClientCallOptions, serveBidi } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome, within } from "../../support/async.js";
import { harnessPerTest, type Msg } from "../../support/grpc.js";
import { echo } from "./helpers.js";

const { start, client } = harnessPerTest();
describe("deadlines", () => {
  const expired: [string, ClientCallOptions][] = [
    ["timeoutMs: 0", { timeoutMs: 0 }],
    ["deadline: new Date(0)", { deadline: new Date(0) }],
    ["deadline one second ago", { deadline: Date.now() - 1000 }],
  ];
  for (const [label, options] of expired) {
    it(`${label}: DEADLINE_EXCEEDED on status and rx, a later send is refused`, async () => {
      await start({ chat: echo });
      const call = bidiCall((md, o) => client().chat(md, o), options);
      expect((await within(outcome(call.status), 2000, "status")).error).toMatchObject({
        code: status.DEADLINE_EXCEEDED,
      });
      expect((await outcome(call.rx.recv())).error).toMatchObject({ code: status.DEADLINE_EXCEEDED });
      expect((await outcome(call.tx.send({ n: 1 }))).error).toBeInstanceOf(SendError);
    });
  }

  it("timeoutMs: Infinity and deadline: Infinity mean no deadline", async () => {
    await start({ chat: echo });
    for (const options of [{ timeoutMs: Infinity }, { deadline: Infinity }]) {
      const call = bidiCall((md, o) => client().chat(md, o), options);
      await call.tx.send({ n: 3 });
      call.tx.close();
      expect(await call.rx.recv()).toEqual({ n: 3 });
      expect((await call.status).code).toBe(status.OK);
    }
  });

  it("deadline: new Date(NaN), -Infinity, '5'; timeoutMs: -1, NaN: a RangeError before any call starts", async () => {
    await start({ chat: echo });
    let started = 0;
    const bad: ClientCallOptions[] = [
      { deadline: new Date(Number.NaN) },
      { deadline: Number.NEGATIVE_INFINITY },
      { deadline: "5" as unknown as number },
      { timeoutMs: -1 },
      { timeoutMs: Number.NaN },
    ];
    for (const options of bad) {
      expect(() =>
        bidiCall((md, o) => {
          started++;
          return client().chat(md, o);
        }, options),
      ).toThrow(RangeError);
    }
    expect(started).toBe(0);
  });
});

describe("handler mistakes that held", () => {
  const thrown: [string, () => unknown][] = [
    ["null", () => null],
    ["undefined", () => undefined],
    ["a Symbol", () => Symbol("x")],
    [
      "an object whose toString and inspect hook throw",
      () => ({
        toString() {
          throw new Error("toString");
        },
        [Symbol.for("nodejs.util.inspect.custom")]() {
          throw new Error("inspect");
        },
      }),
    ],
  ];
  for (const [label, make] of thrown) {
    it(`throws ${label}: UNKNOWN "internal error", onError once`, async () => {
      const seen: unknown[] = [];
      await start({
        chat: serveBidi<Msg, Msg>(
          async (requests) => {
            await requests.recv();
            throw make();
          },
          { onError: (e) => seen.push(e) },
        ),
      });
      const call = bidiCall((md, o) => client().chat(md, o));
      await call.tx.send({ n: 1 });
      expect((await within(outcome(call.status), 2000, "status")).error).toMatchObject({
        code: status.UNKNOWN,
        details: "internal error",
      });
      expect(seen).toHaveLength(1);
    });
  }

  it("ctx.sendMetadata twice, and again after the first response: the first headers arrive, the call ends OK", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (requests, responses, ctx) => {
        await requests.recv();
        const a = new Metadata();
        a.set("x-a", "1");
        ctx.sendMetadata(a);
        const b = new Metadata();
        b.set("x-b", "2");
        ctx.sendMetadata(b);
        await responses.send({ n: 1 });
        ctx.sendMetadata(b);
        await responses.send({ n: 2 });
      }),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 0 });
    call.tx.close();
    const got: number[] = [];
    for await (const m of call.rx) got.push(m.n);
    expect(got).toEqual([1, 2]);
    expect((await call.headers).get("x-a")).toEqual(["1"]);
    expect((await call.status).code).toBe(status.OK);
  });
});

describe("client handles", () => {
  it("tx.abort(undefined): the call is cancelled with a defined reason as cause", async () => {
    await start({ chat: echo });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 1 });
    call.tx.abort(undefined);
    const st = await outcome(call.status);
    expect(st.error).toMatchObject({ code: status.CANCELLED });
    expect((st.error as { cause?: unknown }).cause).toBeInstanceOf(Error);
  });

  it("a permit reserved before cancel() and used after: its value reaches onError, not the void", async () => {
    await start({ chat: echo });
    const reported: unknown[] = [];
    const call = bidiCall((md, o) => client().chat(md, o), { onError: (e) => reported.push(e) });
    const permit = await call.tx.reserve();
    call.cancel("stop");
    permit.send({ n: 42 });
    for (let i = 0; i < 50 && reported.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(SendError);
    expect((reported[0] as SendError<Msg>).value).toEqual({ n: 42 });
  });
});
