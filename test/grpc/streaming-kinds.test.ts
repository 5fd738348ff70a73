/**
 * Every streaming kind over loopback, on every pair of server and client transports (grpc-js with the
 * adapters, grpc-mpsc/h2): the user's code on either side sees the same calls.
 */
import { Metadata } from "@grpc/grpc-js";
import { Code, GrpcError } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { rejection, within } from "../support/async.js";
import type { Msg } from "../support/grpc.js";
import { PAIRS, transportsPerTest } from "../support/transport.js";

describe.each(PAIRS)("every streaming kind over loopback: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("bidi: every request is answered in order, then the call ends OK with the handler's trailers", async () => {
    const client = await start({
      chat: async (requests, responses, ctx) => {
        ctx.trailers.set("x-seen", "yes");
        for await (const req of requests)
          await responses.send({ n: req.n * 2, text: ctx.metadata.get("x-who")[0] as string });
      },
    });
    const metadata = new Metadata();
    metadata.set("x-who", "ada");
    const { tx, rx, status: final } = client.chat({ metadata });
    const sending = (async () => {
      for (let i = 0; i < 500; i++) await tx.send({ n: i });
      tx.close();
    })();
    const got: Msg[] = [];
    for await (const m of rx) got.push(m);
    await sending;
    expect(got.map((m) => m.n)).toEqual(Array.from({ length: 500 }, (_, i) => i * 2));
    expect(got.every((m) => m.text === "ada")).toBe(true);
    const st = await final;
    expect(st.code).toBe(Code.OK);
    expect(st.metadata.get("x-seen")).toEqual(["yes"]);
  });

  it("server streaming: the responses arrive in order and the receiver ends", async () => {
    const client = await start({
      count: async (req, responses) => {
        for (let i = 0; i < req.n; i++) await responses.send({ n: i });
      },
    });
    const { rx, status: final } = client.count({ n: 300 });
    const got: number[] = [];
    for await (const m of rx) got.push(m.n);
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect((await final).code).toBe(Code.OK);
  });

  it("client streaming: the handler reads every request and its return value is the response", async () => {
    const client = await start({
      sum: async (requests) => {
        let total = 0;
        for await (const m of requests) total += m.n;
        return { n: total };
      },
    });
    const { tx, response, status: final } = client.sum();
    for (let i = 1; i <= 1000; i++) await tx.send({ n: i });
    tx.close();
    expect((await response).n).toBe(500500);
    expect((await final).code).toBe(Code.OK);
  });

  it("client streaming: a thrown GrpcError reaches the client with its code, details and trailers", async () => {
    const client = await start({
      sum: async (requests, ctx) => {
        await requests.recv();
        ctx.trailers.set("x-why", "odd");
        throw new GrpcError(Code.FAILED_PRECONDITION, "odd input");
      },
    });
    const { tx, response } = client.sum();
    await tx.send({ n: 1 });
    tx.close();
    const err = await rejection(response);
    expect(err).toBeInstanceOf(GrpcError);
    expect(err).toMatchObject({ code: Code.FAILED_PRECONDITION, details: "odd input" });
    expect((err as GrpcError).metadata.get("x-why")).toEqual(["odd"]);
  });

  it("a half-close is not a cancel: the server keeps streaming after the client's last message", async () => {
    const client = await start({
      chat: async (requests, responses, ctx) => {
        let last = 0;
        for await (const r of requests) last = r.n;
        for (let i = 0; i < 50; i++) await responses.send({ n: last + i });
        expect(ctx.signal.aborted).toBe(false);
      },
    });
    const { tx, rx, status } = client.chat();
    await tx.send({ n: 7 });
    tx.close();
    const got: number[] = [];
    for await (const m of rx) got.push(m.n);
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => 7 + i));
    expect((await status).code).toBe(Code.OK);
  });

  it("200 concurrent bidi streams each get their own 20 answers", async () => {
    const client = await start({
      chat: async (requests, responses) => {
        for await (const r of requests) await responses.send({ n: r.n + 1 });
      },
    });
    const streams = Array.from({ length: 200 }, async (_, s) => {
      const { tx, rx } = client.chat();
      const sending = (async () => {
        for (let i = 0; i < 20; i++) await tx.send({ n: s * 1000 + i });
        tx.close();
      })();
      const got: number[] = [];
      for await (const m of rx) got.push(m.n);
      await sending;
      return got;
    });
    const all = await within(Promise.all(streams), 15_000);
    all.forEach((got, s) => {
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => s * 1000 + i + 1));
    });
  });
});
