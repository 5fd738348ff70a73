/**
 * The cancel and early-end edges against gRPC's C core (Debian python3-grpcio), both directions:
 * a peer that is not grpc-js must be understood the same way.
 */
import { status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { GrpcError } from "grpc-mpsc/grpc";
import { afterEach, expect, it } from "vitest";
import type { MessageRequest } from "../../examples/generated/messages.js";
import { sendUntilRefused, within } from "../support/async.js";
import { killChildren } from "../support/processes.js";
import { describeWithPython, spawnPython } from "../support/python.js";
import { type ServerContext, TRANSPORTS } from "../support/transport.js";
import { scriptedHandlers } from "../support/wire-script.js";

/** Starts a python edge server in `mode`; resolves with its port. */
async function pythonServer(mode: string): Promise<number> {
  const [, port] = await spawnPython("py_edges_server.py", [mode]).line(/^port: (\d+)$/, 10_000);
  return Number(port);
}

afterEach(killChildren);

const big = (n: number): MessageRequest => ({ name: `${n}:${"x".repeat(64 * 1024)}` });

for (const transport of TRANSPORTS) {
  describeWithPython(
    `call edges against python-grpcio on our ${transport.name} transport: a python server ending the call early, a python client cancelling`,
    () => {
      it.each([
        ["ok-after-one", undefined],
        ["error-after-one", status.INVALID_ARGUMENT],
      ])(
        "a python server that ends the call (%s) while our client sends: the parked send gets its value back",
        async (mode, code) => {
          const port = await pythonServer(mode);
          const client = transport.connect(`127.0.0.1:${port}`);
          try {
            const call = client.streamMessages({ requestCapacity: 2 });
            const producer = await within(sendUntilRefused(call.tx, big), 10_000, "the producer");
            expect(producer.error).toBeInstanceOf(SendError);
            expect((producer.error as SendError<MessageRequest>).value).toEqual(big(producer.sent));
            if (code === undefined) {
              expect((await call.status).code).toBe(status.OK);
            } else {
              expect((producer.error as Error).cause).toMatchObject({ code });
              await expect(call.status).rejects.toMatchObject({ code });
            }
          } finally {
            client.close();
          }
        },
      );

      it("a python client that cancels: our handler's requests rejects with CANCELLED (not a clean end) and ctx.signal aborts", async () => {
        let requestsEnd: unknown = "pending";
        let ctxSeen: ServerContext | undefined;
        let finished: () => void = () => {};
        const done = new Promise<void>((r) => (finished = r));
        const server = await transport.serve({
          ...scriptedHandlers().handlers,
          streamMessages: async (requests, responses, ctx) => {
            ctxSeen = ctx;
            const reading = (async () => {
              try {
                for await (const _ of requests) {
                  // names
                }
                requestsEnd = "end";
              } catch (err) {
                requestsEnd = err;
              }
            })();
            try {
              for (;;) await responses.send({ message: "Hello, world!" });
            } catch {
              // the client left
            }
            await reading;
            finished();
          },
        });
        try {
          const child = spawnPython("py_edges_client.py", [`127.0.0.1:${server.port}`, "3"]);
          expect((await child.exit(20_000)).code).toBe(0);
          await within(done, 5000, "the handler");
          expect(requestsEnd).toBeInstanceOf(GrpcError);
          expect(requestsEnd).toMatchObject({ code: status.CANCELLED });
          expect(ctxSeen?.signal.reason).toMatchObject({ code: status.CANCELLED });
        } finally {
          await server.close();
        }
      });
    },
  );
}
