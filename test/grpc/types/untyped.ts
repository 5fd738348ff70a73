/** The issue's own example: a handler inline in grpc-js's untyped addService. It must not compile. */
import { Server } from "@grpc/grpc-js";
import { serveBidi } from "grpc-mpsc/grpc";
import { MessageServiceService } from "../../../examples/generated/messages.js";

new Server().addService(MessageServiceService, {
  streamMessages: serveBidi(async (requests) => {
    for await (const req of requests) void req.thisFieldDoesNotExist.whatever;
  }),
});
