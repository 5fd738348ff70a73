/**
 * Wire interop with grpc-go (Debian's golang-google-grpc-dev), the grpc-go client against our server:
 * each scenario of test/wire/go/client runs against our handlers (test/support/wire-script.ts) on
 * every transport of test/support/transport.ts, and asserts what both sides saw.
 */
import { status } from "@grpc/grpc-js";
import { beforeAll, expect, it } from "vitest";
import { buildGoPeers, describeWithGo, runGoClient } from "../support/go.js";
import { TRANSPORTS } from "../support/transport.js";
import { peerClientScenarios } from "../support/wire-peer.js";
import { expectRefusedResponse } from "../support/wire-script.js";
import { GO_PEER, ourServerScenarios } from "../support/wire-suites.js";

for (const transport of TRANSPORTS) {
  describeWithGo(`the grpc-go client against our ${transport.name} server`, () => {
    beforeAll(() => {
      const { buildMs } = buildGoPeers();
      if (buildMs > 0) console.info(`built the grpc-go peers in ${buildMs} ms`);
    }, 300_000);

    const run = peerClientScenarios(transport, (target, name) => runGoClient(target, [name]));
    const { scenario } = run;

    ourServerScenarios(GO_PEER, run);

    it(`gzip requests from grpc-go are decoded by our server (its answers ${transport.compressesResponses ? "gzip too" : "uncompressed"})`, async () => {
      const { result, script } = await scenario("gzip");
      expect(result).toMatchObject({ code: "OK", values: 20, inOrder: true, compressed: 20 });
      // grpc-js servers never compress responses: grpc-go decompressed nothing from them.
      expect(result.decompressed).toBe(transport.compressesResponses ? 20 : 0);
      expect((await script.endedCall()).read[19]?.text).toBe("gzip 19 ".repeat(1500));
    });

    it("a 5 MiB response to grpc-go: grpc-go refuses it with RESOURCE_EXHAUSTED, and our handler's call ends", async () => {
      const { result, script } = await scenario("too-large-recv");
      expect(result.code).toBe("ResourceExhausted");
      const ended = await script.endedCall();
      expect(ended.read).toEqual([{ n: 5 << 20 }]);
      // grpc-go refuses at the length prefix and resets with CANCEL: CANCELLED on both transports.
      await expectRefusedResponse(ended, status.CANCELLED);
    });
  });
}
