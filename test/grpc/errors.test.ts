/**
 * Errors become statuses, and statuses become errors, on every pair of server and client transports
 * (grpc-js with the adapters, grpc-mpsc/h2).
 */
import { Metadata } from "@grpc/grpc-js";
import { serveBidi } from "grpc-mpsc/grpc";
import { Code, createServer, GrpcError } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { within } from "../support/async.js";
import type { Msg } from "../support/grpc.js";
import { type BidiHandler, PAIRS, transportsPerTest } from "../support/transport.js";

/** Drains a receiver and returns what it got and how it ended. */
async function drain<T>(rx: AsyncIterable<T>): Promise<{ got: T[]; error: unknown }> {
  const got: T[] = [];
  try {
    for await (const v of rx) got.push(v);
    return { got, error: undefined };
  } catch (error) {
    return { got, error };
  }
}

const echo: BidiHandler<Msg, Msg> = async (requests, responses) => {
  for await (const m of requests) await responses.send(m);
};

describe.each(PAIRS)("errors become statuses, and statuses become errors: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("a handler that throws a GrpcError: the client sees its code, details (non-ASCII too) and metadata after the responses sent before", async () => {
    const client = await start({
      chat: async (_requests, responses) => {
        await responses.send({ n: 1 });
        await responses.send({ n: 2 });
        const trailers = new Metadata();
        trailers.set("x-reason", "quota");
        throw new GrpcError(Code.RESOURCE_EXHAUSTED, "slow down — 100% ✓", trailers);
      },
    });
    const call = client.chat();
    const { got, error } = await within(drain(call.rx), 5000, "the receiver");
    expect(got.map((m) => m.n)).toEqual([1, 2]);
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: Code.RESOURCE_EXHAUSTED, details: "slow down — 100% ✓" });
    expect((error as GrpcError).metadata.get("x-reason")).toEqual(["quota"]);
    await expect(call.status).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
  });

  it("the handler's own error (it throws, or aborts responses and goes on) does not abort its ctx.signal", async () => {
    const signals: AbortSignal[] = [];
    let later: (() => void) | undefined;
    const goneOn = new Promise<void>((resolve) => {
      later = resolve;
    });
    const client = await start({
      chat: async (requests, responses, ctx) => {
        signals.push(ctx.signal);
        const { n } = (await requests.recv()) as Msg;
        if (n === 1) throw new GrpcError(Code.NOT_FOUND, "thrown");
        responses.abort(new GrpcError(Code.FAILED_PRECONDITION, "aborted"));
        await goneOn; // still running after its own error ended the call
      },
    });
    for (const [n, code] of [
      [1, Code.NOT_FOUND],
      [2, Code.FAILED_PRECONDITION],
    ] as const) {
      const call = client.chat();
      await call.tx.send({ n });
      await expect(within(call.status, 5000, "status")).rejects.toMatchObject({ code });
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // what would abort them has run by now
    later?.();
    expect(signals.map((s) => s.aborted)).toEqual([false, false]);
  });

  it("a plain Error becomes UNKNOWN without leaking its message or stack; onError sees the original", async () => {
    const logged: unknown[] = [];
    const client = await start(
      {
        chat: async () => {
          throw new Error("secret database password in here");
        },
      },
      { server: { onError: (err) => logged.push(err) } },
    );
    const call = client.chat();
    const { error } = await within(drain(call.rx), 5000, "the receiver");
    expect(error).toMatchObject({ code: Code.UNKNOWN, details: "internal error" });
    expect(JSON.stringify(error)).not.toContain("secret");
    expect((error as GrpcError).message).not.toContain("secret");
    expect(logged).toHaveLength(1);
    expect((logged[0] as Error).message).toContain("secret");
  });

  it("a status-shaped error (code + details) is UNKNOWN to the client and goes to onError; GrpcError.forward passes it on", async () => {
    const logged: unknown[] = [];
    const downstream = Object.assign(new Error("14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:1"), {
      code: Code.UNAVAILABLE,
      details: "connect ECONNREFUSED 127.0.0.1:1",
    });
    let forward = false;
    const client = await start(
      {
        chat: async () => {
          throw forward ? GrpcError.forward(downstream) : downstream;
        },
      },
      { server: { onError: (err) => logged.push(err) } },
    );
    const leaked = await within(drain(client.chat().rx), 5000, "the receiver");
    expect(leaked.error).toMatchObject({ code: Code.UNKNOWN, details: "internal error" });
    expect(logged).toEqual([downstream]);
    forward = true;
    const passed = await within(drain(client.chat().rx), 5000, "the receiver");
    expect(passed.error).toMatchObject({
      code: Code.UNAVAILABLE,
      details: "connect ECONNREFUSED 127.0.0.1:1",
    });
    expect(logged).toHaveLength(1);
  });

  it("a synchronous throw from a non-async handler is caught too", async () => {
    const client = await start({
      chat: (() => {
        throw new GrpcError(Code.PERMISSION_DENIED, "no");
      }) as () => Promise<void>,
    });
    const { error } = await within(drain(client.chat().rx), 5000, "the receiver");
    expect(error).toMatchObject({ code: Code.PERMISSION_DENIED });
  });

  it("a message over the server's receive limit: RESOURCE_EXHAUSTED on the handler's requests and on the client, nothing hangs", async () => {
    let requestsEnd: (reason: unknown) => void = () => {};
    const seen = new Promise<unknown>((resolve) => (requestsEnd = resolve));
    const client = await start(
      {
        chat: async (requests) => {
          try {
            for await (const _ of requests);
            requestsEnd("end");
          } catch (error) {
            requestsEnd(error);
          }
        },
      },
      { server: { maxReceiveMessageLength: 1024 } },
    );
    const call = client.chat();
    await call.tx.send({ n: 1, text: "x".repeat(4096) });
    const { error } = await within(drain(call.rx), 5000, "the receiver");
    expect(error).toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
    await expect(call.status).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
    const handlerSaw = await within(seen, 5000, "the handler's requests to end");
    expect(handlerSaw).toBeInstanceOf(GrpcError);
    expect(handlerSaw).toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
  });

  it("a response over the client's receive limit: the client's receiver rejects with RESOURCE_EXHAUSTED", async () => {
    const client = await start(
      {
        chat: async (_requests, responses) => {
          await responses.send({ n: 1, text: "y".repeat(8192) });
        },
      },
      { client: { maxReceiveMessageLength: 1024 } },
    );
    const { error } = await within(drain(client.chat().rx), 5000, "the receiver");
    expect(error).toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
  });

  it("a 1 MiB message goes both ways; one over the 4 MiB default ends the call RESOURCE_EXHAUSTED", async () => {
    const client = await start({ chat: echo });
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

  it("undecodable bytes: the call fails with INTERNAL and the receiver rejects, nothing hangs", async () => {
    const client = await start({ chat: echo });
    const call = client.chat();
    await call.tx.send({ n: 0, raw: "{not json" });
    const { error } = await within(drain(call.rx), 5000, "the receiver");
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: Code.INTERNAL });
  });

  it("an invalid call capacity is refused with a RangeError naming the option", async () => {
    const client = await start({});
    expect(() => client.chat({ responseCapacity: -1 })).toThrow(/responseCapacity/);
    expect(() => client.chat({ requestCapacity: 1.5 })).toThrow(RangeError);
  });
});

describe("server options are checked when given", () => {
  it("invalid handler capacities are refused with a RangeError naming the option, on both servers", async () => {
    expect(() => serveBidi<Msg, Msg>(async () => {}, { requestCapacity: 0 })).toThrow(/requestCapacity/);
    expect(() => serveBidi<Msg, Msg>(async () => {}, { responseCapacity: 1.5 })).toThrow(RangeError);
    expect(() => createServer({ requestCapacity: 0 })).toThrow(/requestCapacity/);
    expect(() => createServer({ responseCapacity: 1.5 })).toThrow(RangeError);
  });
});
