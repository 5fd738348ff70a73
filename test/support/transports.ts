/**
 * The test service on either transport: a server on grpc-js (the adapters' `serveBidi` & co.) or on
 * grpc-mpsc/h2 with the same handlers, and a client of either kind, so that a suite runs once per
 * pair (`describe.each(PAIRS)`). Every server listens on 127.0.0.1, port 0, and is stopped after each
 * test by {@link transportsPerTest}.
 */
import { credentials, Metadata, Server, ServerCredentials } from "@grpc/grpc-js";
import type { Receiver, Sender } from "grpc-mpsc";
import {
  bidiCall,
  clientStreamCall,
  serveBidi,
  serveClientStream,
  serverStreamCall,
  serveServerStream,
} from "grpc-mpsc/grpc";
import {
  connect,
  createServer,
  type H2ClientOptions,
  type H2ServerOptions,
  type MethodDefinition,
} from "grpc-mpsc/h2";
import { afterEach } from "vitest";
import { type Msg, TestClientCtor, TestService } from "./grpc.js";

/** {@link TestService} with its streaming kinds as literal types, so h2 handlers are typed from it. */
export const H2TestService = TestService as {
  chat: MethodDefinition<Msg, Msg> & { requestStream: true; responseStream: true };
  count: MethodDefinition<Msg, Msg> & { requestStream: false; responseStream: true };
  sum: MethodDefinition<Msg, Msg> & { requestStream: true; responseStream: false };
};

/** A transport under test. */
export type Transport = "grpc-js" | "h2";

/** Every pair of server and client transports, named for `describe.each`. */
export const PAIRS: { name: string; server: Transport; client: Transport }[] = [
  { name: "grpc-js client -> h2 server", server: "h2", client: "grpc-js" },
  { name: "h2 client -> grpc-js server", server: "grpc-js", client: "h2" },
  { name: "h2 client -> h2 server", server: "h2", client: "h2" },
  { name: "grpc-js client -> grpc-js server", server: "grpc-js", client: "grpc-js" },
];

/** What a handler of either transport sees of its call. */
export interface AnyContext {
  readonly signal: AbortSignal;
  readonly deadline: Date | undefined;
  readonly metadata: { get(key: string): (string | Buffer)[] };
  readonly trailers: { set(key: string, value: string | Buffer): void };
}

/** Handlers of the test service, written once for both servers. */
export interface TestHandlers {
  chat?: (requests: Receiver<Msg>, responses: Sender<Msg>, ctx: AnyContext) => Promise<void>;
  count?: (request: Msg, responses: Sender<Msg>, ctx: AnyContext) => Promise<void>;
  sum?: (requests: Receiver<Msg>, ctx: AnyContext) => Promise<Msg>;
}

/** Options of one call, for either client. */
export interface AnyCallOptions {
  /** Request metadata: text values only. */
  metadata?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The final status, as either client reports it. */
export interface AnyStatus {
  code: number;
  details: string;
  metadata: { get(key: string): (string | Buffer)[] };
}

/** A client of the test service on either transport. */
export interface AnyClient {
  chat(options?: AnyCallOptions): {
    tx: Sender<Msg>;
    rx: Receiver<Msg>;
    status: Promise<AnyStatus>;
    cancel(reason?: unknown): void;
  };
  count(
    request: Msg,
    options?: AnyCallOptions,
  ): { rx: Receiver<Msg>; status: Promise<AnyStatus>; cancel(): void };
  sum(options?: AnyCallOptions): { tx: Sender<Msg>; response: Promise<Msg>; status: Promise<AnyStatus> };
  close(): void;
}

/** A running server. */
export interface AnyServer {
  readonly target: string;
  stop(): Promise<void>;
}

const idle = async (): Promise<void> => {};

/** Starts the test service on `transport` with `handlers` (a missing one ends its calls OK at once). */
export async function startServer(
  transport: Transport,
  handlers: TestHandlers,
  h2Options?: H2ServerOptions,
): Promise<AnyServer> {
  const chat = handlers.chat ?? idle;
  const count = handlers.count ?? idle;
  const sum = handlers.sum ?? (async () => ({ n: 0 }));
  if (transport === "h2") {
    const server = createServer(h2Options).addService(H2TestService, {
      chat: (requests, responses, ctx) => chat(requests, responses, ctx),
      count: (request, responses, ctx) => count(request, responses, ctx),
      sum: (requests, ctx) => sum(requests, ctx),
    });
    const port = await server.listen(0);
    return { target: `127.0.0.1:${port}`, stop: async () => server.forceShutdown() };
  }
  const server = new Server();
  server.addService(TestService, {
    chat: serveBidi<Msg, Msg>((requests, responses, ctx) => chat(requests, responses, ctx)),
    count: serveServerStream<Msg, Msg>((request, responses, ctx) => count(request, responses, ctx)),
    sum: serveClientStream<Msg, Msg>((requests, ctx) => sum(requests, ctx)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { target: `127.0.0.1:${port}`, stop: async () => server.forceShutdown() };
}

function grpcJsMetadata(options: AnyCallOptions | undefined): Metadata | undefined {
  if (options?.metadata === undefined) return undefined;
  const md = new Metadata();
  for (const [k, v] of Object.entries(options.metadata)) md.set(k, v);
  return md;
}

/** A client of `target` on `transport`. */
export function openClient(transport: Transport, target: string, h2Options?: H2ClientOptions): AnyClient {
  if (transport === "h2") {
    const client = connect(target, h2Options);
    const opts = (o: AnyCallOptions | undefined) => {
      const metadata = grpcJsMetadata(o);
      return { ...o, metadata };
    };
    return {
      chat: (o) => client.bidiCall(TestService.chat, opts(o)),
      count: (request, o) => client.serverStreamCall(TestService.count, request, opts(o)),
      sum: (o) => client.clientStreamCall(TestService.sum, opts(o)),
      close: () => client.close(),
    };
  }
  const client = TestClientCtor(target, credentials.createInsecure());
  const opts = (o: AnyCallOptions | undefined) => ({ ...o, metadata: grpcJsMetadata(o) });
  return {
    chat: (o) => bidiCall((md, co) => client.chat(md, co), opts(o)),
    count: (request, o) => serverStreamCall((req, md, co) => client.count(req, md, co), request, opts(o)),
    sum: (o) => clientStreamCall((md, co, cb) => client.sum(md, co, cb), opts(o)),
    close: () => client.close(),
  };
}

/** Starts a server and a client per test, and stops both after it. */
export function transportsPerTest(pair: { server: Transport; client: Transport }): {
  start(handlers: TestHandlers, h2Server?: H2ServerOptions, h2Client?: H2ClientOptions): Promise<AnyClient>;
} {
  let server: AnyServer | undefined;
  let client: AnyClient | undefined;
  afterEach(async () => {
    client?.close();
    await server?.stop();
    client = undefined;
    server = undefined;
  });
  return {
    start: async (handlers, h2Server, h2Client) => {
      server = await startServer(pair.server, handlers, h2Server);
      client = openClient(pair.client, server.target, h2Client);
      return client;
    },
  };
}
