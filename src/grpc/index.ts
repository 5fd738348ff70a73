/**
 * # grpc-mpsc/grpc: channels on gRPC streaming calls
 *
 * The adapters put the channel core on `@grpc/grpc-js` streaming calls, so that a stream is read
 * through a `Receiver` and written through a `Sender`, and backpressure runs from your
 * code to the HTTP/2 flow-control window and back:
 *
 * - **Reading**: messages are taken from the call only while the receiver has room. A consumer that
 *   stops reading stops the call being read, and HTTP/2 flow control makes the peer's writes wait.
 * - **Writing**: `await responses.send(msg)` waits while the channel is full, and the channel is
 *   drained into the call only as fast as `write()` / 'drain' allow. A write after the peer went away
 *   never hangs: the wait for 'drain' races the call's end.
 * - **Errors and cancellation**: a failed call rejects the receiver with a {@link GrpcError} (code,
 *   details, metadata) after the messages already read; a client cancel aborts the handler's
 *   `ctx.signal` and rejects its pending sends with `SendError` (carrying the values back); leaving
 *   `for await` early on the client cancels the call. A handler's thrown error becomes its status.
 *
 * Low level, on any call: {@link receiveFrom}, {@link sendTo}. Server: {@link serveBidi},
 * {@link serveServerStream}, {@link serveClientStream}. Client: {@link bidiCall},
 * {@link serverStreamCall}, {@link clientStreamCall}.
 *
 * @example
 * ```ts
 * import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
 * import { bidiCall, serveBidi } from "grpc-mpsc/grpc";
 * import { MessageServiceClient, MessageServiceService } from "./generated/messages.js";
 *
 * const server = new Server();
 * server.addService(MessageServiceService, {
 *   streamMessages: serveBidi(async (requests, responses) => {
 *     for await (const req of requests) await responses.send({ message: `Hello, ${req.name}!` });
 *   }),
 * });
 *
 * const client = new MessageServiceClient("127.0.0.1:50051", credentials.createInsecure());
 * const { tx, rx } = bidiCall((md, opts) => client.streamMessages(md, opts));
 * await tx.send({ name: "Ada" });
 * tx.close();
 * for await (const res of rx) console.log(res.message); // Hello, Ada!
 * ```
 *
 * @module
 */
export type { CallListener, ReadableCall, WritableCall } from "./call-types.js";
export {
  type BidiCall,
  bidiCall,
  type ClientCallOptions,
  type ClientStreamCall,
  clientStreamCall,
  type ServerStreamCall,
  serverStreamCall,
  streamingClientOptions,
} from "./client.js";
export {
  type CallCancelEvent,
  type CallEnding,
  type CallMetrics,
  type CallShutdownEvent,
  type CallTrace,
  callEvents,
  type SlowClientEvent,
} from "./events.js";
export {
  type BroadcastHistory,
  type SendBroadcastOptions,
  type SendBroadcastResult,
  type SlowClientPolicy,
  sendBroadcast,
} from "./fanout.js";
export { type ReceiveOptions, receiveFrom } from "./read.js";
export {
  type BroadcastSource,
  FEED_EPOCH_METADATA_KEY,
  type FeedReset,
  feedEpochOf,
  type MetadataReader,
  RESUME_EPOCH_METADATA_KEY,
  RESUME_FROM_METADATA_KEY,
  type ResumeBroadcastOptions,
  type ResumeContext,
  type ResumePoint,
  resumeBroadcast,
  resumeFromMetadata,
  resumeMetadata,
  resumePointFromMetadata,
} from "./resume.js";
export {
  type Checked,
  type Known,
  type ServeOptions,
  type ServerContext,
  serveBidi,
  serveClientStream,
  serveServerStream,
} from "./server.js";
export {
  type ShutdownOptions,
  type ShutdownResult,
  type StoppableServer,
  shutdownServer,
  streamingServerOptions,
} from "./shutdown.js";
export { type CallStatus, GrpcError, type GrpcErrorConstructor } from "./status.js";
export { type SendToOptions, sendTo } from "./write.js";
