/**
 * `grpc-mpsc/h2`: the library's own gRPC transport on `node:http2`, with the channels and the handler
 * and call shapes of the grpc-js adapters, and no grpc-js at runtime.
 *
 * - Server: {@link createServer}, then {@link H2Server.addService} with the service definitions you
 *   already have (ts-proto `outputServices=grpc-js`, `@grpc/proto-loader`) and handlers shaped as
 *   `serveBidi` / `serveServerStream` / `serveClientStream` take them, plus unary ones.
 * - Client: {@link connect}, then `bidiCall` / `serverStreamCall` / `clientStreamCall` / `unaryCall`
 *   with a method definition; the handles are the grpc-js helpers' (`tx`, `rx`, `status`, `headers`,
 *   `cancel`).
 *
 * It speaks gRPC over HTTP/2 to any peer (grpc-js, the C core, grpc-go): see `docs/h2.md`.
 *
 * @example
 * ```ts
 * import { connect, createServer } from "grpc-mpsc/h2";
 *
 * const server = createServer().addService(MessageServiceService, {
 *   streamMessages: async (requests, responses) => {
 *     for await (const req of requests) await responses.send({ message: `Hello, ${req.name}!` });
 *   },
 * });
 * const port = await server.listen(0);
 * const client = connect(`127.0.0.1:${port}`);
 * const { tx, rx } = client.bidiCall(MessageServiceService.streamMessages);
 * ```
 *
 * @module
 */
export { Code, type CodeNumber } from "../grpc/codes.js";
export {
  type CallCancelEvent,
  type CallEnding,
  type CallMetrics,
  type CallShutdownEvent,
  type CallTrace,
  callEvents,
} from "../grpc/events.js";
export { GrpcError } from "../grpc/grpc-error.js";
export {
  connect,
  type H2BidiCall,
  type H2CallHandle,
  H2Client,
  type H2ClientOptions,
  type H2ClientStreamCall,
  type H2ServerStreamCall,
  type H2UnaryCall,
} from "./client.js";
export type { H2CallOptions, H2CallStatus } from "./client-call.js";
export type { H2ServerContext } from "./context.js";
export type {
  BidiHandler,
  ClientStreamHandler,
  HandlerFor,
  HandlersFor,
  MethodDefinition,
  RequestDecoder,
  RequestOf,
  ResponseDecoder,
  ResponseOf,
  ServerStreamHandler,
  ServiceDefinition,
  UnaryHandler,
} from "./definition.js";
export type { ClientKeepalive, ServerKeepalive } from "./keepalive.js";
export { type MetadataLike, type MetadataMap, type MetadataValue, WireMetadata } from "./metadata.js";
export { createServer, H2Server, type H2ServerOptions, type ServerTls } from "./server.js";
export type { Backoff, ClientTls } from "./session.js";
