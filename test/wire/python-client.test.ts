/**
 * Wire interop with gRPC's C core (Debian's python3-grpcio), the python client against our server:
 * each scenario of test/wire/py_scenarios_client.py (the grpc-go client's, test/wire/go/client) runs
 * against our handlers (test/support/wire-script.ts) on every transport of
 * test/support/transport.ts, and asserts what both sides saw. The python side prints grpcio's code
 * names (CANCELLED where grpc-go prints Canceled).
 */
import { status } from "@grpc/grpc-js";
import { expect, it } from "vitest";
import { describeWithPython, runPythonClient } from "../support/python.js";
import type { TcpProxy } from "../support/tcp-proxy.js";
import { TRANSPORTS } from "../support/transport.js";
import { countingProxy, peerClientScenarios } from "../support/wire-peer.js";
import { expectRefusedResponse } from "../support/wire-script.js";
import { GRPCIO_PEER, ourServerScenarios } from "../support/wire-suites.js";

for (const transport of TRANSPORTS) {
  describeWithPython(`the python-grpcio client against our ${transport.name} server`, () => {
    const run = peerClientScenarios(transport, (target, name) => runPythonClient(target, [name]));
    const { scenario } = run;

    ourServerScenarios(GRPCIO_PEER, run);

    it(`gzip requests from grpcio are decoded by our server (its answers ${transport.compressesResponses ? "gzip too" : "uncompressed"}), as the bytes on the wire show`, async () => {
      let proxy: TcpProxy | undefined;
      const { result, script } = await scenario("gzip", {
        via: async (port) => {
          proxy = await countingProxy(port);
          return proxy.port;
        },
      });
      expect(result).toMatchObject({ code: "OK", values: 20, inOrder: true });
      expect((await script.endedCall()).read[19]?.text).toBe("gzip 19 ".repeat(1500));
      // 20 messages of 10.5-12 KB: 225 KB each way plain, a few hundred bytes each gzipped.
      expect(proxy?.bytes.toServer).toBeLessThan(40_000);
      if (transport.compressesResponses) expect(proxy?.bytes.toClient).toBeLessThan(40_000);
      else expect(proxy?.bytes.toClient).toBeGreaterThan(200_000);
    });

    it("a 5 MiB response to grpcio: grpcio refuses it with RESOURCE_EXHAUSTED, and our handler's call ends", async () => {
      const { result, script } = await scenario("too-large-recv");
      expect(result.code).toBe("RESOURCE_EXHAUSTED");
      const ended = await script.endedCall();
      expect(ended.read).toEqual([{ n: 5 << 20 }]);
      // grpcio refuses a message once it has read all of it (grpc-go at its length prefix), and
      // resets the stream with ENHANCE_YOUR_CALM (grpc-go: CANCEL), which h2 reads as
      // RESOURCE_EXHAUSTED; grpc-js tells its handlers any reset as CANCELLED. grpcio half-closes
      // from its own thread, so the reset can come before the half-close.
      const reset = transport.name === "h2" ? status.RESOURCE_EXHAUSTED : status.CANCELLED;
      await expectRefusedResponse(ended, reset);
    });
  });
}
