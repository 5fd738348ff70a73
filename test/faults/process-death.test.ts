import { credentials, status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { bidiCall, type ServerContext, serveBidi } from "grpc-mpsc/grpc";
import { afterAll, describe, expect, it } from "vitest";
import { within } from "../support/async.js";
import { killAll, nextMessage, spawnFixture } from "../support/fixtures.js";
import { type Msg, start, TestClientCtor } from "../support/grpc.js";

afterAll(killAll);

describe("a peer process dies mid-stream", () => {
  it("server killed with SIGKILL: the client's receiver rejects with UNAVAILABLE within 2 s and its senders get their values back", async () => {
    const server = spawnFixture("server", ["echo"]);
    const { port } = await nextMessage<{ port: number }>(server);
    const client = TestClientCtor(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const { tx, rx, status: final } = bidiCall((md, o) => client.chat(md, o), { requestCapacity: 4 });
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
      const reading = rx.recv().then(
        (v) => ({ v, err: undefined as unknown }),
        (err: unknown) => ({ v: undefined, err }),
      );
      server.kill("SIGKILL");
      const t0 = Date.now();
      // The receiver: drain what arrived before the kill, then the error.
      let outcome = await within(reading, 2000, "the receiver");
      while (outcome.err === undefined && outcome.v !== undefined) {
        outcome = await within(
          rx.recv().then(
            (v) => ({ v, err: undefined as unknown }),
            (err: unknown) => ({ v: undefined, err }),
          ),
          2000,
          "the receiver",
        );
      }
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(outcome.err).toMatchObject({ code: status.UNAVAILABLE });
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
    const h = await start({
      chat: serveBidi<Msg, Msg>(
        async (_requests, responses, c) => {
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
        { responseCapacity: 4 },
      ),
    });
    try {
      const child = spawnFixture("stream-client", [String(h.port)]);
      expect(await nextMessage<string>(child)).toBe("streaming");
      expect(live).toBe(1);
      child.kill("SIGKILL");
      await within(done, 5000, "the handler");
      expect(ctx?.signal.aborted).toBe(true);
      expect(sendError).toBeInstanceOf(SendError);
      expect(live).toBe(0);
    } finally {
      await h.close();
    }
  });
});
