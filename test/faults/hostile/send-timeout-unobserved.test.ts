/** A `responses.sendTimeout` nobody awaits, after the client left, on every pair of server and client transports. */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { within } from "../../support/async.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";

describe.each(PAIRS)("a send nobody observes: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("responses.sendTimeout without await after the client left: must not be an unhandled rejection (send() is protected)", async () => {
    const reported: unknown[] = [];
    let returned: () => void = () => {};
    const done = new Promise<void>((r) => (returned = r));
    const client = await start(
      {
        chat: async (_requests, responses, ctx) => {
          await responses.send({ n: 0 });
          while (!ctx.signal.aborted) await sleep(1);
          void responses.sendTimeout({ n: -1 }, 100); // fire and forget, as with send()
          await sleep(50);
          returned();
        },
      },
      { server: { onError: (e) => reported.push(e), responseCapacity: 2 } },
    );
    const call = client.chat();
    await call.rx.recv();
    call.cancel();
    await within(done, 5000, "the handler");
    expect(reported).toHaveLength(1);
  });
});
