/**
 * Handlers that throw hostile values. docs/guarantees.md and docs/grpc.md: "a handler mistake ... or a hostile thrown value ...
 * ends one call at most"; anything not a GrpcError "reaches the client as UNKNOWN 'internal error'
 * and goes to options.onError".
 */
import { status } from "@grpc/grpc-js";
import { bidiCall, serveBidi } from "grpc-mpsc/grpc";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import type { Msg } from "../../support/grpc.js";
import { harnessPerTest } from "../../support/grpc.js";
import { orTimeout, revokedProxy, trappedProxy } from "./helpers.js";

const { start, client } = harnessPerTest();

const hostile: [string, () => unknown][] = [
  ["a revoked Proxy", revokedProxy],
  ["a Proxy whose get trap throws", trappedProxy],
];

describe("a handler throws a hostile value", () => {
  for (const [label, make] of hostile) {
    it(`throws ${label}: the client gets UNKNOWN at once and onError sees the value`, async () => {
      const seen: unknown[] = [];
      await start({
        chat: serveBidi<Msg, Msg>(
          async (requests) => {
            await requests.recv();
            throw make();
          },
          { onError: (e) => seen.push(e) },
        ),
      });
      const call = bidiCall((md, o) => client().chat(md, o));
      await call.tx.send({ n: 1 });
      // What happens: `isExplicitStatus` (instanceof GrpcError, whose Symbol.hasInstance reads a
      // property of the value) throws after the call claimed its status: no status is ever sent,
      // the client hangs, onError is never called.
      const st = await orTimeout(outcome(call.status), 2000);
      call.cancel();
      expect(st).not.toBe("timeout");
      expect(st).toMatchObject({ error: { code: status.UNKNOWN } });
      expect(seen).toHaveLength(1);
    });
  }

  it("responses.abort(a revoked Proxy): abort does not throw into the handler, the client gets UNKNOWN", async () => {
    let abortThrew: unknown;
    await start({
      chat: serveBidi<Msg, Msg>(
        async (requests, responses) => {
          await requests.recv();
          try {
            responses.abort(revokedProxy());
          } catch (err) {
            abortThrew = err;
          }
        },
        { onError: () => {} },
      ),
    });
    const call = bidiCall((md, o) => client().chat(md, o));
    await call.tx.send({ n: 1 });
    const st = await orTimeout(outcome(call.status), 2000);
    call.cancel();
    expect(abortThrew).toBeUndefined();
    expect(st).toMatchObject({ error: { code: status.UNKNOWN } });
  });
});
