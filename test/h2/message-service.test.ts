/**
 * The reference MessageService (proto/messages.proto, ts-proto's grpc-js output in
 * examples/generated) served by grpc-mpsc/h2 with handlers typed from the definition alone, for the
 * generated grpc-js client and for the h2 client: hellos keep coming after the client half-closes,
 * and a cancel ends the server's loop.
 */
import { credentials } from "@grpc/grpc-js";
import { bidiCall } from "grpc-mpsc/grpc";
import { Code, connect, createServer, type H2Server } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { MessageServiceClient, MessageServiceService } from "../../examples/generated/messages.js";
import { within } from "../support/async.js";

let server: H2Server | undefined;
afterEach(() => {
  server?.forceShutdown();
  server = undefined;
});

/** The seed's server on h2: a hello every 5 ms until a send fails; resolves how the loop ended. */
async function startHello(): Promise<{ port: number; loopEnded: Promise<unknown>; names: string[] }> {
  let ended: (why: unknown) => void = () => {};
  const loopEnded = new Promise<unknown>((resolve) => {
    ended = resolve;
  });
  const names: string[] = [];
  server = createServer({ responseCapacity: 4 }).addService(MessageServiceService, {
    // No annotations: requests and responses are typed from MessageServiceService.
    streamMessages: async (requests, responses, ctx) => {
      void (async () => {
        try {
          for await (const req of requests) names.push(req.name);
        } catch {
          // the call ended
        }
      })();
      try {
        for (;;) {
          await new Promise((r) => setTimeout(r, 5));
          await responses.send({ message: "Hello, world!" });
        }
      } catch (error) {
        ended(ctx.signal.aborted ? ctx.signal.reason : error);
        throw error;
      }
    },
  });
  return { port: await server.listen(0), loopEnded, names };
}

/** Compiled by `npm run typecheck`, never run: handlers and calls are typed from the definition. */
function typedFromTheDefinition(): void {
  createServer().addService(MessageServiceService, {
    streamMessages: async (requests, responses) => {
      const req = await requests.recv();
      // @ts-expect-error a MessageRequest has no `message`
      void req?.message;
      // @ts-expect-error a MessageResponse has `message`, not `name`
      await responses.send({ name: "x" });
    },
  });
  const { tx } = connect("127.0.0.1:1").bidiCall(MessageServiceService.streamMessages);
  // @ts-expect-error a request has `name`
  void tx.send({ message: "x" });
}

void typedFromTheDefinition;

describe("the reference MessageService on the h2 server", () => {
  it("the generated grpc-js client gets hellos after it half-closes; its cancel ends the server's loop CANCELLED", async () => {
    const { port, loopEnded, names } = await startHello();
    const client = new MessageServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const { tx, rx } = bidiCall((md, o) => client.streamMessages(md, o));
      await tx.send({ name: "ada" });
      tx.close();
      const got: string[] = [];
      for await (const m of rx) {
        got.push(m.message);
        if (got.length === 5) break; // leaving the loop cancels
      }
      expect(got).toEqual(Array(5).fill("Hello, world!"));
      expect(names).toEqual(["ada"]);
      await expect(within(loopEnded, 2000)).resolves.toMatchObject({ code: Code.CANCELLED });
    } finally {
      client.close();
    }
  });

  it("the h2 client calls it with the same definition", async () => {
    const { port, loopEnded } = await startHello();
    const client = connect(`127.0.0.1:${port}`);
    try {
      const { tx, rx, cancel } = client.bidiCall(MessageServiceService.streamMessages);
      await tx.send({ name: "grace" });
      tx.close();
      const first = await rx.recv();
      expect(first?.message).toBe("Hello, world!");
      cancel();
      await expect(within(loopEnded, 2000)).resolves.toMatchObject({ code: Code.CANCELLED });
    } finally {
      client.close();
    }
  });
});
