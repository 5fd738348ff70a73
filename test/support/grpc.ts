/**
 * The gRPC test service, defined by hand (JSON on the wire), so the adapter tests do not depend on code
 * generation: bidi `Chat`, server-streaming `Count`, client-streaming `Sum`, with a raw grpc-js
 * client for each.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  credentials,
  type Metadata,
  makeGenericClientConstructor,
  type requestCallback,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { streamingClientOptions } from "grpc-mpsc/grpc";
import { afterEach } from "vitest";

/**
 * The folder and version of the @grpc/grpc-js copy the tests run on: the one vitest.config.ts chose
 * (`GRPC_MPSC_GRPC_JS=floor`: the peer range's floor; unset: the devDependency, the newest 1.x).
 */
export function grpcJsUnderTest(): { dir: string; version: string } {
  const dir =
    process.env.GRPC_MPSC_GRPC_JS_DIR ??
    fileURLToPath(new URL("../../node_modules/@grpc/grpc-js", import.meta.url));
  const { version } = JSON.parse(readFileSync(`${dir}/package.json`, "utf8")) as { version: string };
  return { dir, version };
}

/** A request or response message of the test service. */
export interface Msg {
  n: number;
  text?: string;
  /** Test hook: sent as these raw bytes instead of JSON (to send undecodable frames). */
  raw?: string;
}

const serialize = (m: Msg): Buffer => Buffer.from(m.raw ?? JSON.stringify(m));
const deserialize = (b: Buffer): Msg => JSON.parse(b.toString()) as Msg;

function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/test.Test/${name}`,
    requestStream,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  };
}

/** The service definition. */
export const TestService = {
  chat: method("Chat", true, true),
  count: method("Count", false, true),
  sum: method("Sum", true, false),
} satisfies ServiceDefinition;

/** The typed client of the test service. */
export interface TestClient extends Client {
  chat(metadata: Metadata, options: Partial<CallOptions>): ClientDuplexStream<Msg, Msg>;
  count(request: Msg, metadata: Metadata, options: Partial<CallOptions>): ClientReadableStream<Msg>;
  sum(
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: requestCallback<Msg>,
  ): ClientWritableStream<Msg>;
}

/** A running server and a client of it; `close()` stops both. */
export interface Harness {
  client: TestClient;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const ClientCtor = makeGenericClientConstructor(TestService, "Test");

/**
 * Client options that give a client its own connection: grpc-js otherwise shares one subchannel (one
 * HTTP/2 session) among all clients with the same target and options.
 */
export const OWN_CONNECTION: ChannelOptions = { "grpc.use_local_subchannel_pool": 1 };

/**
 * What every test client starts from: {@link streamingClientOptions} and {@link OWN_CONNECTION}. In
 * grpc-js's process-wide pool, a client whose server went away holds a subchannel for that port in
 * TRANSIENT_FAILURE; when the OS hands the port to a later test's server, a new client to it picks
 * that subchannel up and its first call fails at once with UNAVAILABLE "No connection established.
 * Last error: null" (once in CI on 2026-12-04; two clients in one script reproduce it).
 */
export const TEST_CLIENT_OPTIONS: ChannelOptions = Object.freeze({
  ...streamingClientOptions,
  ...OWN_CONNECTION,
});

/** A client of the test service (with {@link TEST_CLIENT_OPTIONS} under `options`). */
export function TestClientCtor(
  target: string,
  creds: ChannelCredentials,
  options: ChannelOptions = {},
): TestClient {
  return new ClientCtor(target, creds, { ...TEST_CLIENT_OPTIONS, ...options }) as unknown as TestClient;
}

/** Starts a server on 127.0.0.1 with `impl` and connects a client to it. */
export async function start(
  impl: UntypedServiceImplementation,
  serverOptions: ChannelOptions = {},
  clientOptions: ChannelOptions = {},
): Promise<Harness> {
  const server = new Server(serverOptions);
  server.addService(TestService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const client = TestClientCtor(`127.0.0.1:${port}`, credentials.createInsecure(), clientOptions);
  return {
    client,
    port,
    server,
    close: async () => {
      client.close();
      server.forceShutdown();
    },
  };
}

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
      h = await start(impl, server, client);
      return h;
    },
    client: () => {
      if (h === undefined) throw new Error("no server started");
      return h.client;
    },
  };
}
