/**
 * Attacks through the API that held up, on every pair of server and client transports: odd
 * deadlines, odd thrown values, metadata twice, permits.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Metadata } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome, within } from "../../support/async.js";
import type { Msg } from "../../support/grpc.js";
import { type ClientCallOptions, PAIRS, transportsPerTest } from "../../support/transport.js";
import { echo, throwsAfterOne } from "./helpers.js";

describe.each(PAIRS)("misuse that held: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  describe("deadlines", () => {
    const expired: [string, ClientCallOptions][] = [
      ["timeoutMs: 0", { timeoutMs: 0 }],
      ["deadline: new Date(0)", { deadline: new Date(0) }],
      ["deadline one second ago", { deadline: Date.now() - 1000 }],
    ];
    for (const [label, options] of expired) {
      it(`${label}: DEADLINE_EXCEEDED on status and rx, a later send is refused`, async () => {
        const client = await start({ chat: echo });
        const call = client.chat(options);
        expect((await within(outcome(call.status), 2000, "status")).error).toMatchObject({
          code: status.DEADLINE_EXCEEDED,
        });
        expect((await outcome(call.rx.recv())).error).toMatchObject({ code: status.DEADLINE_EXCEEDED });
        expect((await outcome(call.tx.send({ n: 1 }))).error).toBeInstanceOf(SendError);
      });
    }

    it("timeoutMs: Infinity and deadline: Infinity mean no deadline", async () => {
      const client = await start({ chat: echo });
      for (const options of [{ timeoutMs: Infinity }, { deadline: Infinity }]) {
        const call = client.chat(options);
        await call.tx.send({ n: 3 });
        call.tx.close();
        expect(await call.rx.recv()).toEqual({ n: 3 });
        expect((await call.status).code).toBe(status.OK);
      }
    });

    it("deadline: new Date(NaN), -Infinity, '5'; timeoutMs: -1, NaN: a RangeError before any call starts", async () => {
      let started = 0;
      const client = await start({
        chat: async () => {
          started++;
        },
      });
      const bad: ClientCallOptions[] = [
        { deadline: new Date(Number.NaN) },
        { deadline: Number.NEGATIVE_INFINITY },
        { deadline: "5" as unknown as number },
        { timeoutMs: -1 },
        { timeoutMs: Number.NaN },
      ];
      for (const options of bad) expect(() => client.chat(options)).toThrow(RangeError);
      // A call that did start would reach the handler well within this.
      const probe = client.chat();
      probe.tx.close();
      await within(probe.status, 5000, "a good call");
      expect(started).toBe(1);
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
        const client = await start(
          { chat: throwsAfterOne(make) },
          { server: { onError: (e) => seen.push(e) } },
        );
        const call = client.chat();
        await call.tx.send({ n: 1 });
        expect((await within(outcome(call.status), 2000, "status")).error).toMatchObject({
          code: status.UNKNOWN,
          details: "internal error",
        });
        expect(seen).toHaveLength(1);
      });
    }

    // grpc-js ignores a second sendMetadata; h2's throws, as its TSDoc says (docs/guarantees.md).
    it("ctx.sendMetadata twice, and again after the first response: the first headers arrive, the later ones are ignored (grpc-js) or throw (h2), the call ends OK", async () => {
      const later: unknown[] = [];
      const again = (send: () => void): void => {
        try {
          send();
          later.push("ignored");
        } catch (err) {
          later.push(err);
        }
      };
      const client = await start({
        chat: async (requests, responses, ctx) => {
          await requests.recv();
          const a = new Metadata();
          a.set("x-a", "1");
          ctx.sendMetadata(a);
          const b = new Metadata();
          b.set("x-b", "2");
          again(() => ctx.sendMetadata(b));
          await responses.send({ n: 1 });
          again(() => ctx.sendMetadata(b));
          await responses.send({ n: 2 });
        },
      });
      const call = client.chat();
      await call.tx.send({ n: 0 });
      call.tx.close();
      const got: number[] = [];
      for await (const m of call.rx) got.push(m.n);
      expect(got).toEqual([1, 2]);
      const headers = await call.headers;
      expect(headers.get("x-a")).toEqual(["1"]);
      expect(headers.get("x-b")).toEqual([]);
      expect((await call.status).code).toBe(status.OK);
      if (pair.server.name === "grpc-js") expect(later).toEqual(["ignored", "ignored"]);
      else expect(later).toEqual([expect.any(Error), expect.any(Error)]);
    });
  });

  describe("client handles", () => {
    it("tx.abort(undefined): the call is cancelled with a defined reason as cause", async () => {
      const client = await start({ chat: echo });
      const call = client.chat();
      await call.tx.send({ n: 1 });
      call.tx.abort(undefined);
      const st = await outcome(call.status);
      expect(st.error).toMatchObject({ code: status.CANCELLED });
      expect((st.error as { cause?: unknown }).cause).toBeInstanceOf(Error);
    });

    it("a permit reserved before cancel() and used after: its value reaches onError, not the void", async () => {
      const client = await start({ chat: echo });
      const reported: unknown[] = [];
      const call = client.chat({ onError: (e) => reported.push(e) });
      const permit = await call.tx.reserve();
      call.cancel("stop");
      permit.send({ n: 42 });
      for (let i = 0; i < 50 && reported.length === 0; i++) await sleep(10);
      expect(reported).toHaveLength(1);
      expect(reported[0]).toBeInstanceOf(SendError);
      expect((reported[0] as SendError<Msg>).value).toEqual({ n: 42 });
    });
  });
});
