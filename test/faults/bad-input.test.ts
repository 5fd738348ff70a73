/** Bad input and calls after shutdown, on each transport (grpc-js with the adapters, grpc-mpsc/h2). */
import { SendError } from "grpc-mpsc";
import { receiveFrom } from "grpc-mpsc/grpc";
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { rejection, sleep, within } from "../support/async.js";
import type { Msg } from "../support/grpc.js";
import { TRANSPORTS } from "../support/transport.js";

describe.each(TRANSPORTS)("bad input and calls after shutdown: the $name server and client", (transport) => {
  // An h2 call waits for a connection up to its deadline unless told not to (docs/guarantees.md).
  it("a call to a server that has shut down (h2: with waitForReady: false): the receiver rejects with UNAVAILABLE and a send gets its value back", async () => {
    const server = await transport.serve({ chat: async () => {} });
    const port = server.port;
    await server.close();
    const client = transport.connect(`127.0.0.1:${port}`);
    try {
      const call = client.chat({ requestCapacity: 1, waitForReady: false });
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

  // grpc-js's channel refuses the call itself; an h2 client's close() ends its calls (docs/guarantees.md).
  it("a call on a closed client fails at once with a clear error (grpc-js: thrown; h2: status UNAVAILABLE)", async () => {
    const client = transport.connect("127.0.0.1:1");
    client.close();
    if (transport.name === "grpc-js") {
      expect(() => client.chat()).toThrow(/shut down|closed/i);
      return;
    }
    const call = client.chat();
    const error = await within(rejection(call.status), 1000, "the status");
    expect(error).toMatchObject({ code: status.UNAVAILABLE, details: expect.stringMatching(/closed/) });
    await expect(call.tx.send({ n: 1 })).rejects.toBeInstanceOf(SendError);
  });

  it("invalid capacities are refused with a RangeError naming them, before any call starts", async () => {
    await expect(transport.serve({}, { requestCapacity: -3 })).rejects.toThrow(/requestCapacity/);
    let started = 0;
    const server = await transport.serve({
      chat: async () => {
        started++;
      },
    });
    const client = transport.connect(`127.0.0.1:${server.port}`);
    try {
      expect(() => client.chat({ requestCapacity: 2.5 })).toThrow(/requestCapacity/);
      expect(() => client.chat({ responseCapacity: 0 })).toThrow(RangeError);
      await sleep(100); // a call that did start would reach the handler well within this
      expect(started).toBe(0);
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe("bad options of the grpc-js adapters' own helpers", () => {
  it("receiveFrom: a capacity of 0 or NaN is a RangeError naming it", () => {
    const fake = {
      read: () => null,
      on: () => fake,
      removeListener: () => fake,
      pause: () => fake,
      resume: () => fake,
    };
    expect(() => receiveFrom(fake, { capacity: 0 })).toThrow(/capacity/);
    expect(() => receiveFrom(fake, { capacity: Number.NaN })).toThrow(RangeError);
  });
});
