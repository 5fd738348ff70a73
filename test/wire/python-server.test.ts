/**
 * Wire interop with gRPC's C core (Debian's python3-grpcio), our client against the python server
 * (test/wire/py_scenarios_server.py, the grpc-go server's script): every streaming kind, cancel,
 * deadline, error status with trailers, gzip, large messages and 200 streams, on every transport of
 * test/support/transport.ts, asserting what our user's code sees and what the python server saw.
 */
import { status } from "@grpc/grpc-js";
import { expect, it } from "vitest";
import { describeWithPython, startPythonServer } from "../support/python.js";
import type { TcpProxy } from "../support/tcp-proxy.js";
import { TRANSPORTS } from "../support/transport.js";
import { chatAll, countingProxy, numbered, peerServerClients } from "../support/wire-peer.js";
import { GRPCIO_PEER, ourClientScenarios } from "../support/wire-suites.js";

for (const transport of TRANSPORTS) {
  describeWithPython(`our ${transport.name} client against the python-grpcio server`, () => {
    // A python server per test: its logs are the test's own.
    const { connect } = peerServerClients(transport, startPythonServer);

    ourClientScenarios(GRPCIO_PEER, connect);

    it(`gzip: we decode grpcio's 20 gzip responses, and grpcio decodes our requests (${transport.name === "h2" ? "gzip" : "identity: grpc-js drops gzip against grpcio"}), as the bytes on the wire show`, async () => {
      let proxy: TcpProxy | undefined;
      const { client } = await connect(
        { gzip: true },
        {
          via: async (port) => {
            proxy = await countingProxy(port);
            return proxy.port;
          },
        },
      );
      // A first call: the client has the server's grpc-accept-encoding from its response headers.
      expect((await chatAll(client, "gzip", [{ n: 0 }])).final).toMatchObject({ code: status.OK });
      const before = { ...(proxy?.bytes ?? { toServer: 0, toClient: 0 }) };
      const msgs = numbered(20, (i) => `gzip ${i} `.repeat(1500));
      // "gzip": the echo, its answers compressed (grpcio compresses only where the handler asks).
      const { values, error, final } = await chatAll(client, "gzip", msgs);
      expect(error).toBeUndefined();
      expect(values).toEqual(msgs);
      expect(final).toMatchObject({ code: status.OK });
      const toServer = (proxy?.bytes.toServer ?? 0) - before.toServer;
      const toClient = (proxy?.bytes.toClient ?? 0) - before.toClient;
      // 20 messages of 10.5-12 KB: 225 KB each way plain, a few hundred bytes each gzipped.
      expect(toClient).toBeLessThan(40_000);
      // grpcio says "grpc-accept-encoding: identity, deflate, gzip"; grpc-js splits it on "," and,
      // not finding "gzip" (it finds " gzip"), sends identity to this server from then on.
      if (transport.name === "h2") expect(toServer).toBeLessThan(40_000);
      else expect(toServer).toBeGreaterThan(200_000);
    });
  });
}
