/**
 * Wire interop with grpc-go (Debian's golang-google-grpc-dev), our client against the grpc-go server
 * (test/wire/go/server): every streaming kind, cancel, deadline, error status with trailers, gzip,
 * large messages and 200 streams, on every transport of test/support/transport.ts, asserting what our
 * user's code sees and what the Go server saw.
 */
import type { Metadata } from "@grpc/grpc-js";
import { beforeAll, expect, it } from "vitest";
import { buildGoPeers, describeWithGo, startGoServer } from "../support/go.js";
import { TRANSPORTS } from "../support/transport.js";
import { chatAll, numbered, peerServerClients } from "../support/wire-peer.js";
import { GO_PEER, ourClientScenarios } from "../support/wire-suites.js";

for (const transport of TRANSPORTS) {
  describeWithGo(`our ${transport.name} client against the grpc-go server`, () => {
    beforeAll(() => {
      const { buildMs } = buildGoPeers();
      if (buildMs > 0) console.info(`built the grpc-go peers in ${buildMs} ms`);
    }, 300_000);

    // A Go server per test: its gzip counts and logs are the test's own.
    const { connect } = peerServerClients(transport, startGoServer);

    ourClientScenarios(GO_PEER, connect);

    it("gzip both ways: grpc-go decompresses our 20 requests and we decode its 20 gzip responses", async () => {
      const { client } = await connect({ gzip: true });
      const msgs = numbered(20, (i) => `gzip ${i} `.repeat(1500));
      const { values, error, final } = await chatAll(client, "echo", msgs);
      expect(error).toBeUndefined();
      expect(values).toEqual(msgs);
      const trailers = (final as { metadata: Metadata }).metadata;
      expect(trailers.get("x-gzip-decompressed")).toEqual(["20"]);
      expect(trailers.get("x-gzip-compressed")).toEqual(["20"]);
    });
  });
}
