import { credentials, status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { bidiCall, receiveFrom, serveBidi } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { within } from "../support/async.js";
import { type Msg, start, TestClientCtor } from "../support/grpc.js";

describe("bad input and calls after shutdown", () => {
  it("a call to a server that has shut down: the receiver rejects with UNAVAILABLE and a send gets its value back", async () => {
    const h = await start({ chat: serveBidi<Msg, Msg>(async () => {}) });
    const port = h.port;
    await h.close();
    const client = TestClientCtor(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const call = bidiCall((md, o) => client.chat(md, o), { requestCapacity: 1 });
      const err = await within(
        call.rx.recv().then(
          () => undefined,
          (e: unknown) => e,
        ),
        10_000,
        "the receiver",
      );
      expect(err).toMatchObject({ code: status.UNAVAILABLE });
      const refused = await within(
        (async () => {
          for (let n = 0; ; n++) {
            try {
              await call.tx.send({ n });
            } catch (e) {
              return { e, n };
            }
          }
        })(),
        5000,
        "the sender",
      );
      expect(refused.e).toBeInstanceOf(SendError);
      expect((refused.e as SendError<Msg>).value).toEqual({ n: refused.n });
    } finally {
      client.close();
    }
  });

  it("a call on a closed client throws a clear error at once", () => {
    const client = TestClientCtor("127.0.0.1:1", credentials.createInsecure());
    client.close();
    expect(() => bidiCall((md, o) => client.chat(md, o))).toThrow(/shut down|closed/i);
  });

  it("invalid capacities and options are refused with a RangeError naming them, before any call starts", () => {
    const fake = {
      read: () => null,
      on: () => fake,
      removeListener: () => fake,
      pause: () => fake,
      resume: () => fake,
    };
    expect(() => receiveFrom(fake, { capacity: 0 })).toThrow(/capacity/);
    expect(() => receiveFrom(fake, { capacity: Number.NaN })).toThrow(RangeError);
    expect(() => serveBidi<Msg, Msg>(async () => {}, { requestCapacity: -3 })).toThrow(/requestCapacity/);
    let started = false;
    expect(() =>
      bidiCall(
        () => {
          started = true;
          throw new Error("must not start");
        },
        { requestCapacity: 2.5 },
      ),
    ).toThrow(/requestCapacity/);
    expect(started).toBe(false);
  });
});
