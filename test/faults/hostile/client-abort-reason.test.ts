/**
 * The caller's AbortSignal is aborted with a hostile reason (a getter that throws, a Proxy whose
 * traps throw, a revoked Proxy), on every pair of server and client transports. docs/grpc.md and
 * docs/guarantees.md: "signal (aborting cancels the call; the call's error keeps the reason as
 * cause)"; "no unhandled 'error' event or rejection, ever".
 */
import { Code as status } from "grpc-mpsc/h2";
import { describe, expect, it } from "vitest";
import { outcome } from "../../support/async.js";
import { PAIRS, transportsPerTest } from "../../support/transport.js";
import { crashesPerTest, echo, orTimeout, revokedProxy, throwingName, trappedProxy } from "./helpers.js";

const captureCrashes = crashesPerTest();

const reasons: [string, () => object][] = [
  ["an object whose `name` getter throws", throwingName],
  ["a Proxy whose get trap throws", trappedProxy],
  ["a revoked Proxy", revokedProxy],
];

describe.each(PAIRS)("an AbortSignal aborted with a hostile reason: $name", (pair) => {
  const { start } = transportsPerTest(pair);

  for (const [label, make] of reasons) {
    it(`mid-call, ${label}: the call is cancelled (status CANCELLED, rx rejects), no uncaught exception`, async () => {
      const client = await start({ chat: echo });
      const crashes = captureCrashes();
      const ac = new AbortController();
      const call = client.chat({ signal: ac.signal });
      await call.tx.send({ n: 1 });
      const reason = make();
      ac.abort(reason);
      // What happened once: the abort listener threw (an uncaught exception) and the call was never
      // cancelled: status stayed pending.
      const st = await orTimeout(outcome(call.status), 2000);
      expect(crashes.errors).toEqual([]);
      expect(st).not.toBe("timeout");
      expect((st as { error?: unknown }).error).toMatchObject({ code: status.CANCELLED });
      expect(((st as { error?: { cause?: unknown } }).error as { cause?: unknown }).cause).toBe(reason);
    });
  }

  it("already aborted before the call, with a Proxy whose get trap throws: the call is cancelled, no uncaught exception", async () => {
    const client = await start({ chat: echo });
    const crashes = captureCrashes();
    const ac = new AbortController();
    ac.abort(trappedProxy());
    const call = client.chat({ signal: ac.signal });
    const st = await orTimeout(outcome(call.status), 2000);
    expect(crashes.errors).toEqual([]);
    expect(st).not.toBe("timeout");
    expect((st as { error?: unknown }).error).toMatchObject({ code: status.CANCELLED });
  });
});
