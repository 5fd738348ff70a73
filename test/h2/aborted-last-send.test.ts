import { connect, createServer, type H2Server } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { outcome, parkASend, within } from "../support/async.js";
import type { Msg } from "../support/grpc.js";
import { H2TestService as TestService } from "../support/transport.js";

let server: H2Server | undefined;
afterEach(() => {
  server?.forceShutdown();
  server = undefined;
});
const big = (n: number): Msg => ({ n, text: "x".repeat(64 * 1024) });

describe.each([true, false])("h2 client, the last parked send (aborted: %s)", (abort) => {
  it("tx closed while a send with a signal is parked, then the signal aborts: the server still sees the half-close", async () => {
    let go: () => void = () => {};
    const reading = new Promise<void>((r) => (go = r));
    let end: (v: string) => void = () => {};
    const ended = new Promise<string>((r) => (end = r));
    server = createServer().addService(TestService, {
      chat: async (requests) => {
        await reading;
        let n = 0;
        const r = await outcome(
          (async () => {
            for await (const _ of requests) n++;
          })(),
        );
        end(r.error === undefined ? `end after ${n}` : `error ${String(r.error)}`);
      },
      count: async () => {},
      sum: async () => ({ n: 0 }),
    });
    const port = await server.listen(0);
    const client = connect(`127.0.0.1:${port}`);
    try {
      const call = client.bidiCall(TestService.chat, { requestCapacity: 1 });
      const ac = new AbortController();
      const parked = await parkASend(call.tx, big, ac.signal);
      expect(parked).toBeDefined();
      call.tx.close();
      if (abort) ac.abort(new Error("never mind"));
      go();
      const what = await within(ended, 3000, "the server to see the half-close").catch((e: unknown) =>
        String(e),
      );
      // The parked send was the last one: aborted, it rejects with the reason and the server reads
      // the ones before it; not aborted, it is delivered too.
      const sent = await within(
        parked?.outcome ?? Promise.reject(new Error("none parked")),
        3000,
        "the parked send",
      );
      if (abort) expect(sent.error).toMatchObject({ message: "never mind" });
      else expect(sent.error).toBeUndefined();
      expect(what).toBe(`end after ${(parked?.index ?? 0) + (abort ? 0 : 1)}`);
      call.cancel();
    } finally {
      client.close();
    }
  });
});
