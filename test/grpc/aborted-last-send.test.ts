/**
 * A parked send whose signal aborts after its sender closed: the stream must still end (half-close on
 * the client, OK on the server) once what was written drains.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { status } from "@grpc/grpc-js";
import { bidiCall, serveBidi } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { isPending, outcome, parkASend, within } from "../support/async.js";
import { harnessPerTest, type Msg } from "../support/grpc.js";

const h = harnessPerTest();
const big = (n: number): Msg => ({ n, text: "x".repeat(64 * 1024) });

describe.each([true, false])("the last parked send (aborted: %s)", (abort) => {
  it("client: tx closed while a send with a signal is parked, then the signal aborts: the server still sees the half-close", async () => {
    let go: () => void = () => {};
    const reading = new Promise<void>((r) => (go = r));
    let end: (v: string) => void = () => {};
    const ended = new Promise<string>((r) => (end = r));
    await h.start({
      chat: serveBidi<Msg, Msg>(async (requests) => {
        await reading;
        let n = 0;
        const r = await outcome(
          (async () => {
            for await (const _ of requests) n++;
          })(),
        );
        end(r.error === undefined ? `end after ${n}` : `error ${String(r.error)}`);
      }),
    });
    const call = bidiCall((md, o) => h.client().chat(md, o), { requestCapacity: 1 });
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
  });

  it("server: a handler returns while its last send (with a signal) is parked, the signal aborts: the call still ends OK once the client reads", async () => {
    await h.start({
      chat: serveBidi<Msg, Msg>(async (_requests, responses) => {
        const ac = new AbortController();
        for (let i = 0; i < 400; i++) {
          const p = responses.send(big(i), { signal: ac.signal });
          await nextTurn();
          await nextTurn();
          if (await isPending(p)) {
            p.catch(() => {});
            // close first, then abort, in one turn: nothing can grant the parked send in between
            responses.close();
            if (abort) ac.abort(new Error("never mind"));
            break;
          }
        }
      }),
    });
    const call = bidiCall((md, o) => h.client().chat(md, o));
    await call.tx.send({ n: 0 });
    await sleep(200);
    let got = 0;
    const drained = outcome(
      (async () => {
        for await (const _ of call.rx) got++;
      })(),
    );
    const st = await within(outcome(call.status), 3000, "the status").catch((e: unknown) => ({ error: e }));
    expect(got).toBeGreaterThan(0);
    expect((st as { resolved?: { code: number } }).resolved?.code).toBe(status.OK);
    await drained;
  });
});
