/**
 * Handlers whose message types flow from the generated code, without type arguments: each
 * `@ts-expect-error` below must be an error, or this file does not compile.
 */
import { type handleBidiStreamingCall, Server } from "@grpc/grpc-js";
import type { Receiver, Sender } from "grpc-mpsc";
import { serveBidi, serveClientStream, serveServerStream } from "grpc-mpsc/grpc";
import {
  type MessageRequest,
  type MessageResponse,
  type MessageServiceServer,
  MessageServiceService,
} from "../../../examples/generated/messages.js";

const server = new Server();

// ts-proto: a typed implementation object
const impl: MessageServiceServer = {
  streamMessages: serveBidi(async (requests, responses, ctx) => {
    for await (const req of requests) {
      const name: string = req.name;
      // @ts-expect-error not a field of MessageRequest
      void req.thisFieldDoesNotExist;
      await responses.send({ message: `Hello, ${name}!` });
      // @ts-expect-error not a field of MessageResponse
      await responses.send({ mesage: name });
      void ctx.signal;
    }
  }),
};
server.addService(MessageServiceService, impl);

// ts-proto, inline in addService: `satisfies` gives the types
server.addService(MessageServiceService, {
  streamMessages: serveBidi(async (requests) => {
    for await (const req of requests) {
      // @ts-expect-error not a field of MessageRequest
      void req.nope;
    }
  }),
} satisfies MessageServiceServer);

// @grpc/proto-loader: the handlers interface proto-loader-gen-types emits for the same service
interface MessageRequest__Output {
  name: string;
}
interface MessageServiceHandlers {
  StreamMessages: handleBidiStreamingCall<MessageRequest__Output, MessageResponse>;
}
export const loaderImpl: MessageServiceHandlers = {
  StreamMessages: serveBidi(async (requests, responses) => {
    for await (const req of requests) {
      await responses.send({ message: req.name });
      // @ts-expect-error not a field
      void req.missing;
    }
  }),
};

// Parameters annotated by hand work in an untyped context too
server.addService(MessageServiceService, {
  streamMessages: serveBidi(
    async (requests: Receiver<MessageRequest>, responses: Sender<MessageResponse>) => {
      for await (const req of requests) await responses.send({ message: req.name });
    },
  ),
});

// Untyped context and nothing annotated: no message is `any`
server.addService(MessageServiceService, {
  streamMessages: serveBidi(async (requests, responses) => {
    for await (const req of requests) {
      // @ts-expect-error req is unknown, not any
      void req.name;
    }
    // @ts-expect-error no response compiles unchecked
    await responses.send({ message: "x" });
  }),
});

// The other streaming kinds, typed by a handler type as ts-proto emits them
export const serverStreaming: import("@grpc/grpc-js").handleServerStreamingCall<
  MessageRequest,
  MessageResponse
> = serveServerStream(async (request, responses) => {
  await responses.send({ message: request.name });
  // @ts-expect-error not a field
  void request.nope;
});
export const clientStreaming: import("@grpc/grpc-js").handleClientStreamingCall<
  MessageRequest,
  MessageResponse
> = serveClientStream(async (requests) => {
  let last = "";
  for await (const req of requests) last = req.name;
  return { message: last };
});
