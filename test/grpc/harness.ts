/** One test server per test: `start` it inside a test, reach its client, and it is closed after the test. */
import type { ChannelOptions, UntypedServiceImplementation } from "@grpc/grpc-js";
import { afterEach } from "vitest";
import { type Harness, start as startHarness, type TestClient } from "./fixture.js";

/** Registers an `afterEach` that closes the server a test started. */
export function harnessPerTest(): {
  start: (
    impl: UntypedServiceImplementation,
    server?: ChannelOptions,
    client?: ChannelOptions,
  ) => Promise<Harness>;
  client: () => TestClient;
} {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  return {
    start: async (impl, server, client) => {
      h = await startHarness(impl, server, client);
      return h;
    },
    client: () => {
      if (h === undefined) throw new Error("no server started");
      return h.client;
    },
  };
}
