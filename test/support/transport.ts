/**
 * The transport under test, as a small factory, so that a suite runs on every gRPC transport of this
 * library: grpc-js with the adapters ({@link grpcJsTransport}) and the library's own node:http2
 * transport, `grpc-mpsc/h2` ({@link h2Transport}); both are in {@link TRANSPORTS}. The wire interop
 * suites (test/wire) run one of our ends against a foreign peer per transport; the call-edge suites
 * (test/grpc, test/h2, test/faults) run once per pair of server and client transports
 * (`describe.each(PAIRS)`), each test's server and client stopped after it by {@link transportsPerTest}.
 *
 * The interface speaks in the shapes both share: server handlers as `serveBidi`, `serveServerStream`
 * and `serveClientStream` (or h2's `addService`) take them, client calls as `bidiCall`,
 * `serverStreamCall` and `clientStreamCall` (or h2's client) return them. Services: the test service of
 * test/support/grpc.ts (test.Test: Chat, Count, Sum; JSON messages) and the reference
 * messages.MessageService (protobuf, from examples/generated).
 */
import { type ChannelOptions, credentials, type Metadata, Server, ServerCredentials } from "@grpc/grpc-js";
import type { Receiver, Sender } from "grpc-mpsc";
import {
  bidiCall,
  clientStreamCall,
  serveBidi,
  serveClientStream,
  serverStreamCall,
  serveServerStream,
  shutdownServer,
} from "grpc-mpsc/grpc";
import {
  type H2ClientOptions,
  type H2ServerOptions,
  connect as h2Connect,
  createServer as h2CreateServer,
  type MethodDefinition,
} from "grpc-mpsc/h2";
import { afterEach } from "vitest";
import {
  type MessageRequest,
  type MessageResponse,
  MessageServiceClient,
  MessageServiceService,
} from "../../examples/generated/messages.js";
import { type Msg, TEST_CLIENT_OPTIONS, TestClientCtor, TestService } from "./grpc.js";

/** {@link TestService} with its streaming kinds as literal types, so h2 handlers are typed from it. */
export const H2TestService = TestService as {
  chat: MethodDefinition<Msg, Msg> & { requestStream: true; responseStream: true };
  count: MethodDefinition<Msg, Msg> & { requestStream: false; responseStream: true };
  sum: MethodDefinition<Msg, Msg> & { requestStream: true; responseStream: false };
};

/** Metadata as both transports read it (grpc-js `Metadata`, h2's `WireMetadata`). */
export interface ReadMetadata {
  get(key: string): (string | Buffer)[];
}

/** What a handler sees of its call on either server (the grpc-js adapters' `ServerContext`, h2's). */
export interface ServerContext {
  readonly metadata: ReadMetadata;
  readonly deadline: Date | undefined;
  readonly signal: AbortSignal;
  /** Sends the response headers now (both servers take a grpc-js `Metadata`). */
  sendMetadata(metadata: Metadata): void;
  readonly trailers: { set(key: string, value: string | Buffer): void };
}

/** Options of one call, for either client. */
export interface ClientCallOptions {
  metadata?: Metadata;
  timeoutMs?: number;
  /** A deadline (a Date or epoch ms); `timeoutMs` is the same, relative. */
  deadline?: Date | number;
  signal?: AbortSignal;
  requestCapacity?: number;
  responseCapacity?: number;
  /** Sees `tx.send`s refused while nobody awaited them. */
  onError?: (error: unknown) => void;
  /**
   * h2: whether a call made while the client cannot connect waits for a connection (default true);
   * `false` fails it UNAVAILABLE at the first failed connect, as a grpc-js call does by default.
   * Ignored by grpc-js.
   */
  waitForReady?: boolean;
}

/** The final status of a call, as either client reports it. */
export interface CallStatus {
  code: number;
  details: string;
  metadata: ReadMetadata;
}

/** What every call handle has on either client. */
export interface CallHandle {
  readonly status: Promise<CallStatus>;
  readonly headers: Promise<ReadMetadata>;
  cancel(reason?: unknown): void;
}

/** A bidi call on either client. */
export interface BidiCall<Req, Res> extends CallHandle {
  readonly tx: Sender<Req>;
  readonly rx: Receiver<Res>;
}

/** A server-streaming call on either client. */
export interface ServerStreamCall<Res> extends CallHandle {
  readonly rx: Receiver<Res>;
}

/** A client-streaming call on either client. */
export interface ClientStreamCall<Req, Res> extends CallHandle {
  readonly tx: Sender<Req>;
  readonly response: Promise<Res>;
}

/** A bidi handler in the shape `serveBidi` takes. */
export type BidiHandler<Req, Res> = (
  requests: Receiver<Req>,
  responses: Sender<Res>,
  ctx: ServerContext,
) => Promise<void>;

/** The handlers of both services, in the adapters' shapes. */
export interface Handlers {
  chat: BidiHandler<Msg, Msg>;
  count: (request: Msg, responses: Sender<Msg>, ctx: ServerContext) => Promise<void>;
  sum: (requests: Receiver<Msg>, ctx: ServerContext) => Promise<Msg>;
  streamMessages: BidiHandler<MessageRequest, MessageResponse>;
}

/** A server of the transport under test, listening on 127.0.0.1. */
export interface ServerUnderTest {
  readonly port: number;
  /** Stops it at once (every call ends); resolves once it is down. */
  close(): Promise<void>;
  /**
   * Shuts it down with a grace: new calls are refused, the open ones have `graceMs` to finish, then
   * those left are ended (grpc-js: `shutdownServer(server, { graceMs })`, which forces them closed;
   * h2: `shutdown(graceMs)`, which ends them UNAVAILABLE). Resolves once it is down.
   */
  shutdown(options: ShutdownSetup): Promise<void>;
}

/** How a scenario shuts a server down ({@link ServerUnderTest.shutdown}). */
export interface ShutdownSetup {
  /** How long the open calls may run on (ms). */
  graceMs: number;
  /**
   * grpc-js: every handler was served with a `shutdownSignal`, and it is aborted at once (each
   * handler hears UNAVAILABLE at the start of the grace, `shutdownServer`'s `abort`). h2 has no such
   * signal (its handlers hear of a shutdown when the grace runs out): ignored there.
   */
  abortHandlers?: boolean;
}

/** Server options a scenario may ask for, on either server. */
export interface ServeSetup {
  /** The largest request received, in bytes (default 4 MiB on both). */
  maxReceiveMessageLength?: number;
  /** Capacity of each handler's `requests` receiver (default 16 on both). */
  requestCapacity?: number;
  /** How many responses may wait for the transport before `responses.send` waits (default 16 on both). */
  responseCapacity?: number;
  /** Sees the errors the client is not told (grpc-js: each handler's `onError`; h2: the server's). */
  onError?: (error: unknown) => void;
  /** Further h2 server options (ignored by grpc-js). */
  h2?: H2ServerOptions;
  /** Further grpc-js server options (ignored by h2). */
  grpcJs?: ChannelOptions;
}

/** Client options a scenario may ask for. */
export interface ClientSetup {
  /** Compress requests with gzip. */
  gzip?: boolean;
  /** The largest response received, in bytes (default 4 MiB on both). */
  maxReceiveMessageLength?: number;
  /** Further h2 client options (ignored by grpc-js). */
  h2?: H2ClientOptions;
  /** Further grpc-js client options (ignored by h2). */
  grpcJs?: ChannelOptions;
}

/** A client of the transport under test, connected to one target. */
export interface ClientUnderTest {
  chat(options?: ClientCallOptions): BidiCall<Msg, Msg>;
  count(request: Msg, options?: ClientCallOptions): ServerStreamCall<Msg>;
  sum(options?: ClientCallOptions): ClientStreamCall<Msg, Msg>;
  streamMessages(options?: ClientCallOptions): BidiCall<MessageRequest, MessageResponse>;
  close(): void;
}

/** One transport: how to serve both services, and how to call them. */
export interface Transport {
  /** Also the examples' `--transport` value for it. */
  readonly name: "grpc-js" | "h2";
  /** Whether its server compresses responses to a client that sent gzip (grpc-js: never). */
  readonly compressesResponses: boolean;
  /** Serves `handlers` on 127.0.0.1, port 0 (a missing handler ends its calls OK at once). */
  serve(handlers: Partial<Handlers>, setup?: ServeSetup): Promise<ServerUnderTest>;
  /** A client of `target` ("127.0.0.1:port"). */
  connect(target: string, setup?: ClientSetup): ClientUnderTest;
}

const idle = async (): Promise<void> => {};

/** `handlers` with every missing one ending its calls OK at once (client streaming: `{ n: 0 }`). */
function withDefaults(handlers: Partial<Handlers>): Handlers {
  return {
    chat: handlers.chat ?? idle,
    count: handlers.count ?? idle,
    sum: handlers.sum ?? (async () => ({ n: 0 })),
    streamMessages: handlers.streamMessages ?? idle,
  };
}

/** The capacities `setup` names, as both servers take them. */
function capacities(setup: ServeSetup): { requestCapacity?: number; responseCapacity?: number } {
  return {
    ...(setup.requestCapacity === undefined ? {} : { requestCapacity: setup.requestCapacity }),
    ...(setup.responseCapacity === undefined ? {} : { responseCapacity: setup.responseCapacity }),
  };
}

/** grpc-js's `grpc.default_compression_algorithm` value for gzip. */
const GZIP = 2;

/** grpc-js `Server` and clients, with the grpc-mpsc adapters on them. */
export const grpcJsTransport: Transport = {
  name: "grpc-js",
  // server-interceptors.js: "response compression is currently not supported".
  compressesResponses: false,
  async serve(partial, setup = {}) {
    const handlers = withDefaults(partial);
    const server = new Server({
      ...(setup.maxReceiveMessageLength === undefined
        ? {}
        : { "grpc.max_receive_message_length": setup.maxReceiveMessageLength }),
      ...setup.grpcJs,
    });
    const onError = setup.onError;
    const stopping = new AbortController();
    const options = {
      ...capacities(setup),
      ...(onError === undefined ? {} : { onError: (error: unknown) => onError(error) }),
      shutdownSignal: stopping.signal,
    };
    server.addService(TestService, {
      chat: serveBidi<Msg, Msg>(handlers.chat, options),
      count: serveServerStream<Msg, Msg>(handlers.count, options),
      sum: serveClientStream<Msg, Msg>(handlers.sum, options),
    });
    server.addService(MessageServiceService, {
      streamMessages: serveBidi<MessageRequest, MessageResponse>(handlers.streamMessages, options),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    return {
      port,
      close: async () => {
        server.forceShutdown();
      },
      shutdown: async ({ graceMs, abortHandlers }) => {
        await shutdownServer(server, { graceMs, ...(abortHandlers ? { abort: stopping } : {}) });
      },
    };
  },
  connect(target, setup = {}) {
    const options: ChannelOptions = {
      ...(setup.gzip ? { "grpc.default_compression_algorithm": GZIP } : {}),
      ...(setup.maxReceiveMessageLength === undefined
        ? {}
        : { "grpc.max_receive_message_length": setup.maxReceiveMessageLength }),
      ...setup.grpcJs,
    };
    const test = TestClientCtor(target, credentials.createInsecure(), options);
    const messages = new MessageServiceClient(target, credentials.createInsecure(), {
      ...TEST_CLIENT_OPTIONS,
      ...options,
    });
    return {
      chat: (o) => bidiCall((md, opts) => test.chat(md, opts), o),
      count: (request, o) => serverStreamCall((req, md, opts) => test.count(req, md, opts), request, o),
      sum: (o) => clientStreamCall((md, opts, cb) => test.sum(md, opts, cb), o),
      streamMessages: (o) => bidiCall((md, opts) => messages.streamMessages(md, opts), o),
      close: () => {
        test.close();
        messages.close();
      },
    };
  },
};

/**
 * Message limits of the h2 ends here: h2 refuses to send over 4 MiB by default, where grpc-js sends
 * any size; raised, so that the 5 MiB scenarios test the peer's receive limit, as on grpc-js.
 */
const H2_MAX_SEND = 16 << 20;

/** grpc-mpsc/h2's server and client, with the same handlers. */
export const h2Transport: Transport = {
  name: "h2",
  // server-call.ts: responses go out in the request's grpc-encoding.
  compressesResponses: true,
  async serve(partial, setup = {}) {
    const handlers = withDefaults(partial);
    const onError = setup.onError;
    const server = h2CreateServer({
      maxSendMessageLength: H2_MAX_SEND,
      ...capacities(setup),
      ...(setup.maxReceiveMessageLength === undefined
        ? {}
        : { maxReceiveMessageLength: setup.maxReceiveMessageLength }),
      ...(onError === undefined ? {} : { onError: (error: unknown) => onError(error) }),
      ...setup.h2,
    })
      .addService(H2TestService, {
        chat: (requests, responses, ctx) => handlers.chat(requests, responses, ctx),
        count: (request, responses, ctx) => handlers.count(request, responses, ctx),
        sum: (requests, ctx) => handlers.sum(requests, ctx),
      })
      .addService(MessageServiceService, {
        streamMessages: (requests, responses, ctx) => handlers.streamMessages(requests, responses, ctx),
      });
    const port = await server.listen(0);
    return {
      port,
      close: async () => {
        server.forceShutdown();
      },
      shutdown: ({ graceMs }) => server.shutdown(graceMs),
    };
  },
  connect(target, setup = {}) {
    const client = h2Connect(target, {
      maxSendMessageLength: H2_MAX_SEND,
      ...(setup.gzip ? { compression: "gzip" } : {}),
      ...(setup.maxReceiveMessageLength === undefined
        ? {}
        : { maxReceiveMessageLength: setup.maxReceiveMessageLength }),
      ...setup.h2,
    });
    return {
      chat: (o) => client.bidiCall(H2TestService.chat, o),
      count: (request, o) => client.serverStreamCall(H2TestService.count, request, o),
      sum: (o) => client.clientStreamCall(H2TestService.sum, o),
      streamMessages: (o) => client.bidiCall(MessageServiceService.streamMessages, o),
      close: () => client.close(),
    };
  },
};

/** Every transport the suites run on. */
export const TRANSPORTS: readonly Transport[] = [grpcJsTransport, h2Transport];

/** The transport of `name`. */
export function transportNamed(name: string): Transport {
  const transport = TRANSPORTS.find((t) => t.name === name);
  if (transport === undefined) throw new Error(`unknown transport ${name}: grpc-js or h2`);
  return transport;
}

/** A server transport and a client transport, named for `describe.each`. */
export interface Pair {
  readonly name: string;
  readonly server: Transport;
  readonly client: Transport;
}

/** Every pair of server and client transports. */
export const PAIRS: readonly Pair[] = [
  { name: "grpc-js client -> grpc-js server", server: grpcJsTransport, client: grpcJsTransport },
  { name: "h2 client -> h2 server", server: h2Transport, client: h2Transport },
  { name: "grpc-js client -> h2 server", server: h2Transport, client: grpcJsTransport },
  { name: "h2 client -> grpc-js server", server: grpcJsTransport, client: h2Transport },
];

/**
 * Starts a server of `pair.server` and a client of `pair.client` per test, and stops both after it
 * (every server and client a test started, when it starts several); `server()` is the server the
 * last `start` started (to shut it down, or to reach its port).
 */
export function transportsPerTest(pair: Pair): {
  start(
    handlers: Partial<Handlers>,
    setup?: { server?: ServeSetup; client?: ClientSetup },
  ): Promise<ClientUnderTest>;
  server(): ServerUnderTest;
} {
  const started: { server: ServerUnderTest; client: ClientUnderTest }[] = [];
  afterEach(async () => {
    for (const { server, client } of started.splice(0)) {
      client.close();
      await server.close();
    }
  });
  return {
    start: async (handlers, setup = {}) => {
      const server = await pair.server.serve(handlers, setup.server);
      const client = pair.client.connect(`127.0.0.1:${server.port}`, setup.client);
      started.push({ server, client });
      return client;
    },
    server: () => {
      const last = started.at(-1);
      if (last === undefined) throw new Error("no server started");
      return last.server;
    },
  };
}
