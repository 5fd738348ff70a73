import { setTimeout as sleep } from "node:timers/promises";
import { bidiCall, serveBidi } from "grpc-mpsc/grpc";
import { expect, it } from "vitest";
import { within } from "../../support/async.js";
import { harnessPerTest, type Msg } from "../../support/grpc.js";

const { start, client } = harnessPerTest();

it("responses.sendTimeout without await after the client left: must not be an unhandled rejection (send() is protected)", async () => {
  const reported: unknown[] = [];
  let returned: () => void = () => {};
  const done = new Promise<void>((r) => (returned = r));
  await start({
    chat: serveBidi<Msg, Msg>(
      async (_requests, responses, ctx) => {
        await responses.send({ n: 0 });
        while (!ctx.signal.aborted) await sleep(1);
        void responses.sendTimeout({ n: -1 }, 100); // fire and forget, as with send()
        await sleep(50);
        returned();
      },
      { onError: (e) => reported.push(e), responseCapacity: 2 },
    ),
  });
  const call = bidiCall((md, o) => client().chat(md, o));
  await call.rx.recv();
  call.cancel();
  await within(done, 5000, "the handler");
  expect(reported).toHaveLength(1);
});
