import { Metadata, status } from "@grpc/grpc-js";
import { bidiCall, GrpcError, serveBidi } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { within } from "../support/async.js";
import { harnessPerTest, type Msg } from "../support/grpc.js";

const { start, client } = harnessPerTest();

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

describe("errors become statuses, and statuses become errors", () => {
  it("a handler that throws a GrpcError: the client sees its code and details after the responses sent before", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (_requests, responses) => {
        await responses.send({ n: 1 });
        await responses.send({ n: 2 });
        const trailers = new Metadata();
        trailers.set("x-reason", "quota");
        throw new GrpcError(status.RESOURCE_EXHAUSTED, "slow down", trailers);
      }),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    const { got, error } = await within(drain(call.rx), 5000, "the receiver");
    expect(got.map((m) => m.n)).toEqual([1, 2]);
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: "slow down" });
    expect((error as GrpcError).metadata.get("x-reason")).toEqual(["quota"]);
    await expect(call.status).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it("a plain Error becomes UNKNOWN without leaking its message or stack; onError sees the original", async () => {
    const logged: unknown[] = [];
    await start({
      chat: serveBidi<Msg, Msg>(
        async () => {
          throw new Error("secret database password in here");
        },
        { onError: (err) => logged.push(err) },
      ),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    const { error } = await within(drain(call.rx), 5000, "the receiver");
    expect(error).toMatchObject({ code: status.UNKNOWN, details: "internal error" });
    expect(JSON.stringify(error)).not.toContain("secret");
    expect((error as GrpcError).message).not.toContain("secret");
    expect(logged).toHaveLength(1);
    expect((logged[0] as Error).message).toContain("secret");
  });

  it("a status-shaped error (code + details) is UNKNOWN to the client and goes to onError; GrpcError.forward passes it on", async () => {
    const logged: unknown[] = [];
    const downstream = Object.assign(new Error("14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:1"), {
      code: status.UNAVAILABLE,
      details: "connect ECONNREFUSED 127.0.0.1:1",
    });
    let forward = false;
    await start({
      chat: serveBidi<Msg, Msg>(
        async () => {
          throw forward ? GrpcError.forward(downstream) : downstream;
        },
        { onError: (err) => logged.push(err) },
      ),
    });
    const leaked = await within(drain(bidiCall((md, o) => client().chat(md, o)).rx), 5000, "the receiver");
    expect(leaked.error).toMatchObject({ code: status.UNKNOWN, details: "internal error" });
    expect(logged).toEqual([downstream]);
    forward = true;
    const passed = await within(drain(bidiCall((md, o) => client().chat(md, o)).rx), 5000, "the receiver");
    expect(passed.error).toMatchObject({
      code: status.UNAVAILABLE,
      details: "connect ECONNREFUSED 127.0.0.1:1",
    });
    expect(logged).toHaveLength(1);
  });

  it("a synchronous throw from a non-async handler is caught too", async () => {
    await start({
      chat: serveBidi<Msg, Msg>((() => {
        throw new GrpcError(status.PERMISSION_DENIED, "no");
      }) as () => Promise<void>),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    const { error } = await within(drain(call.rx), 5000, "the receiver");
    expect(error).toMatchObject({ code: status.PERMISSION_DENIED });
  });

  it("a message over the receive limit: RESOURCE_EXHAUSTED on the server's requests and on the client, nothing hangs", async () => {
    let serverError: unknown;
    await start(
      {
        chat: serveBidi<Msg, Msg>(async (requests) => {
          try {
            for await (const _ of requests) {
              // reading
            }
          } catch (err) {
            serverError = err;
            throw err;
          }
        }),
      },
      { "grpc.max_receive_message_length": 1024 },
    );
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 1, text: "x".repeat(4096) });
    const { error } = await within(drain(call.rx), 5000, "the receiver");
    expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    await expect(call.status).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    if (serverError !== undefined) expect(serverError).toBeInstanceOf(GrpcError);
  });

  it("a response over the client's receive limit: the client's receiver rejects with RESOURCE_EXHAUSTED", async () => {
    await start(
      {
        chat: serveBidi<Msg, Msg>(async (_requests, responses) => {
          await responses.send({ n: 1, text: "y".repeat(8192) });
        }),
      },
      {},
      { "grpc.max_receive_message_length": 1024 },
    );
    const call = bidiCall((md, o) => client().chat(md, o));
    const { error } = await within(drain(call.rx), 5000, "the receiver");
    expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it("undecodable bytes: the call fails with INTERNAL and the receiver rejects, nothing hangs", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (requests, responses) => {
        for await (const m of requests) await responses.send(m);
      }),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 0, raw: "{not json" });
    const { error } = await within(drain(call.rx), 5000, "the receiver");
    expect(error).toBeInstanceOf(GrpcError);
    expect(error).toMatchObject({ code: status.INTERNAL });
  });

  it("invalid capacities are refused with a RangeError naming the option", () => {
    expect(() => serveBidi<Msg, Msg>(async () => {}, { requestCapacity: 0 })).toThrow(/requestCapacity/);
    expect(() => serveBidi<Msg, Msg>(async () => {}, { responseCapacity: 1.5 })).toThrow(RangeError);
    expect(() => bidiCall((md, o) => client().chat(md, o), { responseCapacity: -1 })).toThrow(
      /responseCapacity/,
    );
  });
});
