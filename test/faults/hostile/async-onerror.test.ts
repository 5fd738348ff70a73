/**
 * An `onError` written as an async function (a logger that awaits a sink) whose promise rejects, on
 * every pair of server and client transports. The option's type is `(error, ctx) => void`, which an
 * async function satisfies. The docs (docs/grpc.md, docs/guarantees.md): "an onError that throws is
 * logged"; "No crash: no unhandled 'error' event or rejection, ever".
 */
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";
import { crashesPerTest } from "./helpers.js";

const captureCrashes = crashesPerTest();

describe.each(PAIRS)("an async onError whose promise rejects: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  it("server: a handler error reported to an async onError that rejects: the client gets UNKNOWN and nothing is left unhandled", async () => {
    const client = await start(
      {
        chat: async (requests) => {
          await requests.recv();
          throw new Error("handler bug");
        },
      },
      {
        server: {
          onError: async () => {
            throw new Error("the log sink is down");
          },
        },
      },
    );
    const crashes = captureCrashes();
    const call = client.chat();
    await call.tx.send({ n: 1 });
    expect(await outcome(call.status)).toMatchObject({ error: { code: status.UNKNOWN } });
    await new Promise((r) => setTimeout(r, 50));
    // What happened once: reportTo ignored what onError returns; its rejection was unhandled (a crash in production).
    expect(crashes.errors).toEqual([]);
  });

  it("client: a refused send nobody awaited, reported to an async onError that rejects: nothing is left unhandled", async () => {
    const client = await start({
      chat: async (requests) => {
        await requests.recv();
      },
    });
    const crashes = captureCrashes();
    const call = client.chat({
      onError: async () => {
        throw new Error("the log sink is down");
      },
    });
    await call.tx.send({ n: 1 });
    await outcome(call.status);
    void call.tx.send({ n: 2 }); // refused: the call ended; nobody awaits it
    await new Promise((r) => setTimeout(r, 100));
    expect(crashes.errors).toEqual([]);
  });
});
