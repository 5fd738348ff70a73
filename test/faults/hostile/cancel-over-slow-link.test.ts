/**
 * A grpc-js client's cancel is two frames in two socket writes: DATA(END_STREAM) and then
 * RST_STREAM(CANCEL). On loopback they arrive together; on a slow or lossy link (or through a proxy
 * that forwards segment by segment) they arrive a few milliseconds apart. The server must still
 * read the cancel as a cancel, not as "the client finished sending". On every pair of server and
 * client transports (an h2 client's cancel is RST_STREAM alone; both servers must hold either).
 */
import { Code as status } from "grpc-mpsc/h2";
import { afterEach, describe, expect, it } from "vitest";
import { within } from "../../support/async.js";
import { OWN_CONNECTION } from "../../support/grpc.js";
import { PAIRS, type ServerContext } from "../../support/transport.js";
import { slowLinkProxy } from "./helpers.js";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe.each(PAIRS)("a client cancel over a slow link: $name", (pair) => {
  it("the client cancels an upload mid-way, its frames arrive 5 ms apart: the handler's requests rejects with CANCELLED, it does not end as a complete upload", async () => {
    let outcome: { ended?: number; error?: unknown; abortedAtEnd?: boolean } | undefined;
    let handled: () => void = () => {};
    const done = new Promise<void>((r) => (handled = r));
    const server = await pair.server.serve({
      sum: async (requests, ctx: ServerContext) => {
        let total = 0;
        try {
          for await (const r of requests) total += r.n;
          outcome = { ended: total, abortedAtEnd: ctx.signal.aborted }; // would commit a partial upload
        } catch (error) {
          outcome = { error };
        }
        handled();
        return { n: total };
      },
    });
    closers.push(() => server.close());
    const proxy = await slowLinkProxy(server.port, 5);
    closers.push(proxy.close);
    const client = pair.client.connect(`127.0.0.1:${proxy.port}`, { grpcJs: OWN_CONNECTION });
    closers.push(() => client.close());

    const call = client.sum();
    for (const n of [1, 2, 3]) await call.tx.send({ n });
    await new Promise((r) => setTimeout(r, 150)); // the three messages are through the link
    call.cancel("the user pressed stop");
    await within(done, 3000, "the handler");

    // What happened once (grpc-js client and server): { ended: 6, abortedAtEnd: false }: the
    // cancelled upload read as a complete one.
    expect(outcome?.ended).toBeUndefined();
    expect(outcome?.error).toMatchObject({ code: status.CANCELLED });
  });
});
