/**
 * Nothing of an ended call stays behind on the h2 server or client while the connection lives: the
 * handler's context (and the call it names) and the client's call handle are collected once the user
 * lets go, however the call ended and whether or not anybody read its `rx`.
 */
import { Code, GrpcError } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { collectUntil, rejection, sleep, within } from "../support/async.js";
import { h2Transport, type Pair, transportsPerTest } from "../support/transport.js";

const CALLS = 150;

const h2Pair: Pair = { name: "h2 client -> h2 server", server: h2Transport, client: h2Transport };

/** How each call ends: the client's `rx` is never read but in "drained". */
const ENDS = ["cancelled", "deadline", "handler error", "drained"] as const;

/** Resolves once `done()` holds (checked every 2 ms). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await sleep(2);
}

describe("an ended h2 call is collected, on the server and on the client", () => {
  const { start } = transportsPerTest(h2Pair);

  it.each(ENDS)(
    `${CALLS} calls ended by %s: every handler context and client handle is collected`,
    async (end) => {
      const collected = { ctx: 0, call: 0 };
      const registry = new FinalizationRegistry<"ctx" | "call">((what) => collected[what]++);
      let handled = 0;
      const client = await start({
        chat: async (requests, responses, ctx) => {
          registry.register(ctx, "ctx");
          handled++;
          await requests.recv();
          await responses.send({ n: 1, text: "x".repeat(1000) });
          if (end === "handler error") throw new GrpcError(Code.ABORTED, "the handler gave up");
          if (end === "drained") return;
          for await (const _ of requests); // until the cancel or the deadline
        },
      });
      for (let i = 0; i < CALLS; i++) {
        const call = client.chat(end === "deadline" ? { timeoutMs: 10 } : {});
        registry.register(call, "call");
        const sent = call.tx.send({ n: i });
        // Under load the 10 ms deadline can pass before the session is up: the send is refused
        // then, and the call still ends DEADLINE_EXCEEDED below.
        if (end === "deadline") await sent.catch(() => undefined);
        else await sent;
        if (end === "cancelled") {
          // Cancelled once its handler runs (a stream reset before it reaches the server has none).
          await within(
            until(() => handled > i),
            5000,
            "the handler",
          );
          call.cancel();
        } else if (end === "drained") {
          call.tx.close();
          for await (const _ of call.rx);
        }
        // The handle is let go once its status is in; its rx may still hold a response nobody read.
        const error = await within(
          call.status.then(
            () => undefined,
            (e: unknown) => e,
          ),
          5000,
          "the call's status",
        );
        if (end !== "drained") expect(error).toBeInstanceOf(GrpcError);
        if (end === "deadline") expect(error).toMatchObject({ code: Code.DEADLINE_EXCEEDED });
      }
      expect(handled).toBeGreaterThan(CALLS / 2);
      // Every call but the last, which the test's own frame may still hold.
      await collectUntil(() => collected.ctx >= handled && collected.call >= CALLS - 1).catch(
        (error: unknown) => {
          throw new Error(
            `collected ${collected.ctx} of ${handled} handler contexts, ${collected.call} of ${CALLS} calls: ${String(error)}`,
          );
        },
      );
    },
    30_000,
  );

  it("the connection still serves after the collected calls", async () => {
    const client = await start({
      chat: async (requests, responses) => {
        for await (const m of requests) await responses.send(m);
      },
    });
    const call = client.chat();
    await call.tx.send({ n: 7 });
    expect((await call.rx.recv())?.n).toBe(7);
    call.cancel();
    await expect(rejection(call.status)).resolves.toMatchObject({ code: Code.CANCELLED });
  });
});
