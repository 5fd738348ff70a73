/**
 * Handlers that throw hostile values, on every pair of server and client transports.
 * docs/guarantees.md and docs/grpc.md: "a handler mistake ... or a hostile thrown value ... ends one
 * call at most"; anything not a GrpcError "reaches the client as UNKNOWN 'internal error' and goes to
 * options.onError".
 */
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";
import { orTimeout, revokedProxy, throwsAfterOne, trappedProxy } from "./helpers.js";

const hostile: [string, () => unknown][] = [
  ["a revoked Proxy", revokedProxy],
  ["a Proxy whose get trap throws", trappedProxy],
];

describe.each(PAIRS)("a handler throws a hostile value: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  for (const [label, make] of hostile) {
    it(`throws ${label}: the client gets UNKNOWN at once and onError sees the value`, async () => {
      const seen: unknown[] = [];
      const client = await start(
        { chat: throwsAfterOne(make) },
        { server: { onError: (e) => seen.push(e) } },
      );
      const call = client.chat();
      await call.tx.send({ n: 1 });
      // What happened once: `isExplicitStatus` (instanceof GrpcError, whose Symbol.hasInstance reads a
      // property of the value) threw after the call claimed its status: no status was ever sent, the
      // client hung, onError was never called.
      const st = await orTimeout(outcome(call.status), 2000);
      call.cancel();
      expect(st).not.toBe("timeout");
      expect(st).toMatchObject({ error: { code: status.UNKNOWN } });
      expect(seen).toHaveLength(1);
    });
  }

  it("responses.abort(a revoked Proxy): abort does not throw into the handler, the client gets UNKNOWN", async () => {
    let abortThrew: unknown;
    const client = await start(
      {
        chat: async (requests, responses) => {
          await requests.recv();
          try {
            responses.abort(revokedProxy());
          } catch (err) {
            abortThrew = err;
          }
        },
      },
      { server: { onError: () => {} } },
    );
    const call = client.chat();
    await call.tx.send({ n: 1 });
    const st = await orTimeout(outcome(call.status), 2000);
    call.cancel();
    expect(abortThrew).toBeUndefined();
    expect(st).toMatchObject({ error: { code: status.UNKNOWN } });
  });
});
