/**
 * The transport under test, as a small factory, so that the wire interop suites (test/wire/go-*.test.ts)
 * run on any gRPC transport of this library: grpc-js with the adapters now ({@link grpcJsTransport}),
 * the library's own node:http2 transport (`grpc-mpsc/h2`) next, by adding another {@link Transport}
 * to {@link TRANSPORTS}.
 *
 * The interface speaks in the adapters' own shapes: server handlers as `serveBidi`,
 * `serveServerStream` and `serveClientStream` take them, client calls as `bidiCall`,
 * `serverStreamCall` and `clientStreamCall` return them. Services: the test service of
 * test/support/grpc.ts (test.Test: Chat, Count, Sum; JSON messages) and the reference
 * messages.MessageService (protobuf, from examples/generated).
 */
import { type ChannelOptions, credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import type { Receiver, Sender } from "grpc-mpsc";
import {
  type BidiCall,
  bidiCall,
  type ClientCallOptions,
  type ClientStreamCall,
  clientStreamCall,
  type ServerContext,
  type ServerStreamCall,
  serveBidi,
  serveClientStream,
  serverStreamCall,
  serveServerStream,
  streamingClientOptions,
} from "grpc-mpsc/grpc";
import {
  type MessageRequest,
  type MessageResponse,
  MessageServiceClient,
  MessageServiceService,
} from "../../examples/generated/messages.js";
import { type Msg, TestClientCtor, TestService } from "./grpc.js";

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
}

/** Client options a scenario may ask for. */
export interface ClientSetup {
  /** Compress requests with gzip. */
  gzip?: boolean;
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
  readonly name: string;
  /** Whether its server compresses responses to a client that sent gzip (grpc-js: never). */
  readonly compressesResponses: boolean;
  /** Serves `handlers` on 127.0.0.1, port 0. */
  serve(handlers: Handlers): Promise<ServerUnderTest>;
  /** A client of `target` ("127.0.0.1:port"). */
  connect(target: string, setup?: ClientSetup): ClientUnderTest;
}

/** grpc-js's `grpc.default_compression_algorithm` value for gzip. */
const GZIP = 2;

/** grpc-js `Server` and clients, with the grpc-mpsc adapters on them. */
export const grpcJsTransport: Transport = {
  name: "grpc-js",
  // server-interceptors.js: "response compression is currently not supported".
  compressesResponses: false,
  async serve(handlers) {
    const server = new Server();
    server.addService(TestService, {
      chat: serveBidi<Msg, Msg>(handlers.chat),
      count: serveServerStream<Msg, Msg>(handlers.count),
      sum: serveClientStream<Msg, Msg>(handlers.sum),
    });
    server.addService(MessageServiceService, {
      streamMessages: serveBidi<MessageRequest, MessageResponse>(handlers.streamMessages),
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
    };
  },
  connect(target, setup = {}) {
    const options: ChannelOptions = setup.gzip ? { "grpc.default_compression_algorithm": GZIP } : {};
    const test = TestClientCtor(target, credentials.createInsecure(), options);
    const messages = new MessageServiceClient(target, credentials.createInsecure(), {
      ...streamingClientOptions,
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

/** Every transport the interop suites run on. */
export const TRANSPORTS: readonly Transport[] = [grpcJsTransport];
