import { Metadata, status } from "@grpc/grpc-js";
import {
  bidiCall,
  clientStreamCall,
  GrpcError,
  serveBidi,
  serveClientStream,
  serverStreamCall,
  serveServerStream,
} from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import type { Msg } from "../support/grpc.js";
import { harnessPerTest } from "../support/grpc.js";

const { start, client } = harnessPerTest();

const unused = {
  chat: serveBidi<Msg, Msg>(async () => {}),
  count: serveServerStream<Msg, Msg>(async () => {}),
  sum: serveClientStream<Msg, Msg>(async () => ({ n: 0 })),
};

describe("every streaming kind over loopback", () => {
  it("bidi: every request is answered in order, then the call ends OK with the handler's trailers", async () => {
    await start({
      ...unused,
      chat: serveBidi<Msg, Msg>(async (requests, responses, ctx) => {
        ctx.trailers.set("x-seen", "yes");
        for await (const req of requests)
          await responses.send({ n: req.n * 2, text: ctx.metadata.get("x-who")[0] as string });
      }),
    });
    const metadata = new Metadata();
    metadata.set("x-who", "ada");
    const { tx, rx, status: final } = bidiCall((md, o) => client().chat(md, o), { metadata });
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
    expect(st.code).toBe(status.OK);
    expect(st.metadata.get("x-seen")).toEqual(["yes"]);
  });

  it("server streaming: the responses arrive in order and the receiver ends", async () => {
    await start({
      ...unused,
      count: serveServerStream<Msg, Msg>(async (req, responses) => {
        for (let i = 0; i < req.n; i++) await responses.send({ n: i });
      }),
    });
    const { rx, status: final } = serverStreamCall((req, md, o) => client().count(req, md, o), { n: 300 });
    const got: number[] = [];
    for await (const m of rx) got.push(m.n);
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect((await final).code).toBe(status.OK);
  });

  it("client streaming: the handler reads every request and its return value is the response", async () => {
    await start({
      ...unused,
      sum: serveClientStream<Msg, Msg>(async (requests) => {
        let total = 0;
        for await (const m of requests) total += m.n;
        return { n: total };
      }),
    });
    const {
      tx,
      response,
      status: final,
    } = clientStreamCall<Msg, Msg>((md, o, cb) => client().sum(md, o, cb));
    for (let i = 1; i <= 1000; i++) await tx.send({ n: i });
    tx.close();
    expect((await response).n).toBe(500500);
    expect((await final).code).toBe(status.OK);
  });

  it("client streaming: a thrown GrpcError reaches the client with its code, details and trailers", async () => {
    await start({
      ...unused,
      sum: serveClientStream<Msg, Msg>(async (requests, ctx) => {
        await requests.recv();
        ctx.trailers.set("x-why", "odd");
        throw new GrpcError(status.FAILED_PRECONDITION, "odd input");
      }),
    });
    const { tx, response } = clientStreamCall<Msg, Msg>((md, o, cb) => client().sum(md, o, cb));
    await tx.send({ n: 1 });
    tx.close();
    const err = await response.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GrpcError);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, details: "odd input" });
    expect((err as GrpcError).metadata.get("x-why")).toEqual(["odd"]);
  });
});
