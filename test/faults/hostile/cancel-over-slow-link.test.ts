/**
 * A grpc-js client's cancel is two frames in two socket writes: DATA(END_STREAM) and then
 * RST_STREAM(CANCEL). On loopback they arrive together; on a slow or lossy link (or through a proxy
 * that forwards segment by segment) they arrive a few milliseconds apart. The server must still
 * read the cancel as a cancel, not as "the client finished sending".
 */
import { credentials, status } from "@grpc/grpc-js";
import { clientStreamCall, type ServerContext, serveClientStream } from "grpc-mpsc/grpc";
import { afterEach, describe, expect, it } from "vitest";
import { within } from "../../support/async.js";
import { harnessPerTest, type Msg, OWN_CONNECTION, TestClientCtor } from "../../support/grpc.js";
import { slowLinkProxy } from "./helpers.js";

const { start } = harnessPerTest();
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe("a client cancel over a slow link", () => {
  it("grpc-js client cancels an upload mid-way, its two frames arrive 5 ms apart: the handler's requests rejects with CANCELLED, it does not end as a complete upload", async () => {
    let outcome: { ended?: number; error?: unknown; abortedAtEnd?: boolean } | undefined;
    let handled: () => void = () => {};
    const done = new Promise<void>((r) => (handled = r));
    const h = await start({
      sum: serveClientStream<Msg, Msg>(async (requests, ctx: ServerContext) => {
        let total = 0;
        try {
          for await (const r of requests) total += r.n;
          outcome = { ended: total, abortedAtEnd: ctx.signal.aborted }; // would commit a partial upload
        } catch (error) {
          outcome = { error };
        }
        handled();
        return { n: total };
      }),
    });
    const proxy = await slowLinkProxy(h.port, 5);
    closers.push(proxy.close);
    const client = TestClientCtor(`127.0.0.1:${proxy.port}`, credentials.createInsecure(), OWN_CONNECTION);
    closers.push(() => client.close());

    const call = clientStreamCall<Msg, Msg>((md, o, cb) => client.sum(md, o, cb));
    for (const n of [1, 2, 3]) await call.tx.send({ n });
    await new Promise((r) => setTimeout(r, 150)); // the three messages are through the link
    call.cancel("the user pressed stop");
    await within(done, 3000, "the handler");

    // What happens: { ended: 6, abortedAtEnd: false }: the cancelled upload reads as a complete one.
    expect(outcome?.ended).toBeUndefined();
    expect(outcome?.error).toMatchObject({ code: status.CANCELLED });
  });
});
