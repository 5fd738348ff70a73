/**
 * Every streaming kind, errors, cancel and deadline, over each pair of transports: the grpc-js
 * adapters and grpc-mpsc/h2 must look the same to the user's code on either side.
 */
import { Metadata } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { Code, GrpcError } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { rejection, sleep, within } from "../support/async.js";
import type { Msg } from "../support/grpc.js";
import { PAIRS, transportsPerTest } from "../support/transport.js";

function whoIs(name: string): Metadata {
  const md = new Metadata();
  md.set("x-who", name);
  return md;
}

describe.each(PAIRS)("$name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("bidi: 500 requests answered in order with the request metadata, then OK with the handler's trailers", async () => {
    const client = await start({
      chat: async (requests, responses, ctx) => {
        ctx.trailers.set("x-seen", "yes");
        const who = ctx.metadata.get("x-who")[0] as string;
        for await (const req of requests) await responses.send({ n: req.n * 2, text: who });
      },
    });
    const { tx, rx, status } = client.chat({ metadata: whoIs("ada") });
    const sending = (async () => {
      for (let i = 0; i < 500; i++) await tx.send({ n: i });
      tx.close();
    })();
    const got: Msg[] = [];
    for await (const m of rx) got.push(m);
    await sending;
    expect(got.map((m) => m.n)).toEqual(Array.from({ length: 500 }, (_, i) => i * 2));
    expect(got.every((m) => m.text === "ada")).toBe(true);
    const st = await status;
    expect(st.code).toBe(Code.OK);
    expect(st.metadata.get("x-seen")).toEqual(["yes"]);
  });

  it("server streaming: 300 responses in order, then the receiver ends", async () => {
    const client = await start({
      count: async (req, responses) => {
        for (let i = 0; i < req.n; i++) await responses.send({ n: i });
      },
    });
    const { rx, status } = client.count({ n: 300 });
    const got: number[] = [];
    for await (const m of rx) got.push(m.n);
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect((await status).code).toBe(Code.OK);
  });

  it("client streaming: the handler's return value is the one response", async () => {
    const client = await start({
      sum: async (requests) => {
        let total = 0;
        for await (const m of requests) total += m.n;
        return { n: total };
      },
    });
    const { tx, response } = client.sum();
    for (let i = 1; i <= 100; i++) await tx.send({ n: i });
    tx.close();
    expect((await response).n).toBe(5050);
  });

  it("a GrpcError thrown by the handler reaches the client with its code, details (non-ASCII too) and metadata", async () => {
    const client = await start({
      chat: async (requests, responses) => {
        await requests.recv();
        await responses.send({ n: 1 });
        const md = new Metadata();
        md.set("x-why", "gone");
        throw new GrpcError(Code.NOT_FOUND, "no job 42 — 100% gone ✓", md);
      },
    });
    const { tx, rx, status } = client.chat();
    await tx.send({ n: 0 });
    expect((await rx.recv())?.n).toBe(1);
    const error = await rejection(rx.recv());
    expect(error).toBeInstanceOf(GrpcError);
    const e = error as GrpcError;
    expect(e.details).toBe("no job 42 — 100% gone ✓");
    expect(e.code).toBe(Code.NOT_FOUND);
    expect(e.details).toBe("no job 42 — 100% gone ✓");
    expect(e.metadata.get("x-why")).toEqual(["gone"]);
    await expect(status).rejects.toMatchObject({ code: Code.NOT_FOUND });
  });

  it("any other error is UNKNOWN 'internal error' on the wire: no message leaks", async () => {
    const client = await start({
      count: async () => {
        throw new Error("secret path /etc/x");
      },
    });
    const { rx } = client.count({ n: 1 });
    await expect(rx.recv()).rejects.toMatchObject({ code: Code.UNKNOWN, details: "internal error" });
  }, 10_000);

  it("a client cancel aborts the handler's signal with CANCELLED and its parked send rejects with SendError", async () => {
    let seen: (reason: unknown) => void = () => {};
    const aborted = new Promise<unknown>((resolve) => {
      seen = resolve;
    });
    let sendError: unknown;
    const client = await start({
      count: async (_req, responses, ctx) => {
        ctx.signal.addEventListener("abort", () => seen(ctx.signal.reason));
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
    const reason = await within(aborted, 2000);
    expect(reason).toMatchObject({ code: Code.CANCELLED });
    await expect(status).rejects.toMatchObject({ code: Code.CANCELLED });
    await within(
      (async () => {
        while (sendError === undefined) await sleep(5);
      })(),
      2000,
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

  it("deadline: the client's receiver rejects DEADLINE_EXCEEDED; the handler saw the deadline and its signal aborts", async () => {
    let deadline: Date | undefined;
    let aborted: Promise<unknown> | undefined;
    const client = await start({
      chat: async (requests, _responses, ctx) => {
        deadline = ctx.deadline;
        aborted = new Promise((resolve) => {
          if (ctx.signal.aborted) resolve(ctx.signal.reason);
          ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason));
        });
        for await (const _ of requests) {
          // wait for the end that never comes
        }
      },
    });
    const started = Date.now();
    const { tx, rx } = client.chat({ timeoutMs: 300 });
    await tx.send({ n: 1 });
    await expect(within(rx.recv(), 3000, "rx.recv")).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    expect(deadline).toBeInstanceOf(Date);
    expect(Math.abs((deadline as Date).getTime() - (started + 300))).toBeLessThan(250);
    const reason = await within(aborted as Promise<unknown>, 3000, "ctx.signal");
    expect([Code.DEADLINE_EXCEEDED, Code.CANCELLED]).toContain((reason as GrpcError).code);
  });

  it("leaving for-await early cancels the call, and the server sees CANCELLED", async () => {
    let reason: Promise<unknown> | undefined;
    const client = await start({
      count: async (_req, responses, ctx) => {
        reason = new Promise((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason)),
        );
        for (let i = 0; ; i++) await responses.send({ n: i });
      },
    });
    const { rx } = client.count({ n: 0 });
    for await (const m of rx) if (m.n === 10) break;
    await expect(within(reason as Promise<unknown>, 2000)).resolves.toMatchObject({ code: Code.CANCELLED });
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

  it("a 1 MiB message goes both ways; one over the 4 MiB default ends the call RESOURCE_EXHAUSTED", async () => {
    const client = await start({
      chat: async (requests, responses) => {
        for await (const r of requests) await responses.send({ n: r.n, text: r.text });
      },
    });
    const big = "y".repeat(1024 * 1024);
    const ok = client.chat();
    await ok.tx.send({ n: 1, text: big });
    ok.tx.close();
    const echoed = await ok.rx.recv();
    expect(echoed?.text?.length).toBe(big.length);
    const over = client.chat();
    over.tx.send({ n: 2, text: "z".repeat(5 * 1024 * 1024) }).catch(() => {});
    await expect(within(over.rx.recv(), 5000)).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
  });

  it("a request over the server's 4 MiB receive limit: the handler's requests reject RESOURCE_EXHAUSTED too", async () => {
    let requestsEnd: (reason: unknown) => void = () => {};
    const seen = new Promise<unknown>((resolve) => (requestsEnd = resolve));
    const client = await start({
      chat: async (requests) => {
        try {
          for await (const _ of requests);
          requestsEnd("end");
        } catch (error) {
          requestsEnd(error);
        }
      },
    });
    const over = client.chat();
    over.tx.send({ n: 1, text: "z".repeat(5 * 1024 * 1024) }).catch(() => {});
    await expect(within(over.rx.recv(), 5000)).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
    const error = await within(seen, 5000, "the handler's requests to end");
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
  });
});
