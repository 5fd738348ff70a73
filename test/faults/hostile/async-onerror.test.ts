/**
 * An `onError` written as an async function (a logger that awaits a sink) whose promise rejects.
 * The option's type is `(error, ctx) => void`, which an async function satisfies. The docs (docs/grpc.md, docs/guarantees.md): "an
 * onError that throws is logged"; "No crash: no unhandled 'error' event or rejection, ever".
 */
import { status } from "@grpc/grpc-js";
import { bidiCall, serveBidi } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import type { Msg } from "../../support/grpc.js";
import { harnessPerTest } from "../../support/grpc.js";
import { crashesPerTest } from "./helpers.js";

const { start, client } = harnessPerTest();
const captureCrashes = crashesPerTest();

describe("an async onError whose promise rejects", () => {
  it("server: a handler error reported to an async onError that rejects: the client gets UNKNOWN and nothing is left unhandled", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(
        async (requests) => {
          await requests.recv();
          throw new Error("handler bug");
        },
        {
          onError: async () => {
            throw new Error("the log sink is down");
          },
        },
      ),
    });
    const crashes = captureCrashes();
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 1 });
    expect(await outcome(call.status)).toMatchObject({ error: { code: status.UNKNOWN } });
    await new Promise((r) => setTimeout(r, 50));
    // What happens: reportTo ignores what onError returns; its rejection is unhandled (a crash in production).
    expect(crashes.errors).toEqual([]);
  });

  it("client: a refused send nobody awaited, reported to an async onError that rejects: nothing is left unhandled", async () => {
    await start({
      chat: serveBidi<Msg, Msg>(async (requests) => {
        await requests.recv();
      }),
    });
    const crashes = captureCrashes();
    const call = bidiCall((md, o) => client().chat(md, o), {
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
