/** Many concurrent streams on each transport (grpc-js with the adapters, grpc-mpsc/h2, server and client alike). */
import { Code as status } from "grpc-mpsc/h2";
import PQueue from "p-queue";
import { describe, expect, it } from "vitest";
import { TRANSPORTS } from "../support/transport.js";

const STREAMS = Number(process.env.LOAD_STREAMS ?? 1000);
const MESSAGES = Number(process.env.LOAD_MESSAGES ?? 1000);

describe.each(TRANSPORTS)("load on the $name server and client", (transport) => {
  it(`${STREAMS} concurrent bidi streams, ${MESSAGES} messages each way: every message once, in order, no stream hangs`, async () => {
    const server = await transport.serve({
      chat: async (requests, responses) => {
        for await (const m of requests) await responses.send({ n: m.n, text: m.text });
      },
    });
    const client = transport.connect(`127.0.0.1:${server.port}`);
    try {
      const opening = new PQueue({ concurrency: 100 }); // bounds how many streams are being opened at once
      let completed = 0;
      const one = async (id: number): Promise<void> => {
        const call = await opening.add(async () => client.chat());
        const sending = (async () => {
          for (let n = 0; n < MESSAGES; n++) await call.tx.send({ n, text: String(id) });
          call.tx.close();
        })();
        let expected = 0;
        for await (const m of call.rx) {
          if (m.n !== expected || m.text !== String(id))
            throw new Error(`stream ${id}: got ${m.n}/${m.text}`);
          expected++;
        }
        await sending;
        if (expected !== MESSAGES) throw new Error(`stream ${id}: ${expected} of ${MESSAGES}`);
        expect((await call.status).code).toBe(status.OK);
        completed++;
      };
      const t0 = Date.now();
      await Promise.all(Array.from({ length: STREAMS }, (_, id) => one(id)));
      console.log(
        `load (${transport.name}): ${STREAMS} streams x ${MESSAGES} messages each way in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      expect(completed).toBe(STREAMS);
    } finally {
      client.close();
      await server.close();
    }
  }, 240_000);
});
