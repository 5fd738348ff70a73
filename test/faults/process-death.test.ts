/**
 * A peer process killed mid-stream, on every pair of server and client transports: the other side's
 * handles all learn it at once.
 */
import { SendError } from "grpc-mpsc";
import { Code as status } from "grpc-mpsc/h2";
import { afterAll, describe, expect, it } from "vitest";
import { outcome, within } from "../support/async.js";
import { killAll, nextMessage, spawnFixture } from "../support/fixtures.js";
import type { Msg } from "../support/grpc.js";
import { OWN_CONNECTION } from "../support/grpc.js";
import { PAIRS, type ServerContext } from "../support/transport.js";

afterAll(killAll);

describe.each(PAIRS)("a peer process dies mid-stream: $name", (pair) => {
  it("server killed with SIGKILL: the client's receiver rejects with UNAVAILABLE within 2 s and its senders get their values back", async () => {
    const server = spawnFixture("server", ["echo", pair.server.name]);
    const { port } = await nextMessage<{ port: number }>(server);
    const client = pair.client.connect(`127.0.0.1:${port}`, { grpcJs: OWN_CONNECTION });
    try {
      const { tx, rx, status: final } = client.chat({ requestCapacity: 4 });
      await tx.send({ n: 1 });
      expect((await rx.recv())?.n).toBe(1);
      // A producer that keeps sending until its send is refused.
      const refused = (async () => {
        for (let n = 2; ; n++) {
          try {
            await tx.send({ n });
          } catch (err) {
            return { err, n };
          }
        }
      })();
      server.kill("SIGKILL");
      const t0 = Date.now();
      // The receiver: drain what arrived before the kill, then the error.
      let got = await within(outcome(rx.recv()), 2000, "the receiver");
      while (got.error === undefined && got.resolved !== undefined) {
        got = await within(outcome(rx.recv()), 2000, "the receiver");
      }
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(got.error).toMatchObject({ code: status.UNAVAILABLE });
      const { err, n } = await within(refused, 2000, "the producer");
      expect(err).toBeInstanceOf(SendError);
      expect((err as SendError<Msg>).value).toEqual({ n });
      await expect(final).rejects.toMatchObject({ code: status.UNAVAILABLE });
    } finally {
      client.close();
    }
  });

  it("client killed with SIGKILL: the handler's signal aborts, its pending send rejects, and the handler finishes", async () => {
    let ctx: ServerContext | undefined;
    let sendError: unknown;
    let live = 0;
    let finished: () => void = () => {};
    const done = new Promise<void>((resolve) => (finished = resolve));
    const server = await pair.server.serve(
      {
        chat: async (_requests, responses, c) => {
          ctx = c;
          live++;
          try {
            for (let n = 0; ; n++) await responses.send({ n, text: "z".repeat(512) });
          } catch (err) {
            sendError = err;
          } finally {
            live--;
            finished();
          }
        },
      },
      { responseCapacity: 4 },
    );
    try {
      const child = spawnFixture("stream-client", [String(server.port), pair.client.name]);
      expect(await nextMessage<string>(child)).toBe("streaming");
      expect(live).toBe(1);
      child.kill("SIGKILL");
      await within(done, 5000, "the handler");
      expect(ctx?.signal.aborted).toBe(true);
      expect(sendError).toBeInstanceOf(SendError);
      expect(live).toBe(0);
    } finally {
      await server.close();
    }
  });
});
