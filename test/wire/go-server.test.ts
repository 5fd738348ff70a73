/**
 * Wire interop with grpc-go (Debian's golang-google-grpc-dev), our client against the grpc-go server
 * (test/wire/go/server): every streaming kind, cancel, deadline, error status with trailers, gzip,
 * large messages and 200 streams, on every transport of test/support/transport.ts, asserting what our
 * user's code sees and what the Go server saw.
 */
import { type Metadata, status } from "@grpc/grpc-js";
import { SendError } from "grpc-mpsc";
import { GrpcError } from "grpc-mpsc/grpc";
import { beforeAll, expect, it } from "vitest";
import { sendUntilRefused, within } from "../support/async.js";
import { buildGoPeers, describeWithGo, startGoServer } from "../support/go.js";
import type { Msg } from "../support/grpc.js";
import { TRANSPORTS } from "../support/transport.js";
import { chatAll, endedLines, mode, numbered, peerServerClients, readAll } from "../support/wire-peer.js";

for (const transport of TRANSPORTS) {
  describeWithGo(`our ${transport.name} client against the grpc-go server`, () => {
    beforeAll(() => {
      const { buildMs } = buildGoPeers();
      if (buildMs > 0) console.info(`built the grpc-go peers in ${buildMs} ms`);
    }, 300_000);

    // A Go server per test: its gzip counts and logs are the test's own.
    const { connect } = peerServerClients(transport, startGoServer);

    it("bidi: 100 messages echoed equal and in order, then OK with the Go server's trailers (our -bin header echoed in one)", async () => {
      const { client } = await connect();
      const msgs = numbered(100, (i) => `m${i} ✓`);
      const metadata = mode("echo");
      metadata.set("x-token-bin", Buffer.from([0xff, 0, 1]));
      const { values, error, final } = await chatAll(client, "echo", msgs, metadata);
      expect(error).toBeUndefined();
      expect(values).toEqual(msgs);
      expect(final).toMatchObject({ code: status.OK });
      const trailers = (final as { metadata: Metadata }).metadata;
      expect(trailers.get("x-echoed")).toEqual(["100"]);
      expect(trailers.get("x-token-bin")).toEqual([Buffer.from([0xff, 0, 1])]);
    });

    it("server streaming: Count {n: 50} gives 0..49, then OK", async () => {
      const { client } = await connect();
      const call = client.count({ n: 50 });
      const { values, error } = await readAll(call.rx);
      expect(error).toBeUndefined();
      expect(values.map((m) => m.n)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect((await call.status).code).toBe(status.OK);
    });

    it("client streaming: Sum of 1..100 answers 5050", async () => {
      const { client } = await connect();
      const call = client.sum();
      for (let n = 1; n <= 100; n++) await call.tx.send({ n });
      call.tx.close();
      expect(await within(call.response, 10_000, "the sum")).toEqual({ n: 5050, text: "count=100" });
    });

    it("the reference service: our generated client gets each name echoed by grpc-go's generated server", async () => {
      const { client } = await connect();
      const call = client.streamMessages();
      await call.tx.send({ name: "Ada" });
      await call.tx.send({ name: "Grace ✓" });
      call.tx.close();
      const { values, error } = await readAll(call.rx);
      expect(error).toBeUndefined();
      expect(values.map((r) => r.message)).toEqual(["echo: Ada", "echo: Grace ✓"]);
    });

    it("our cancel reaches the grpc-go handler within 1 s, and our rx rejects with CANCELLED", async () => {
      const { client, server } = await connect();
      const call = client.chat({ metadata: mode("hold") });
      expect((await within(call.headers, 5000, "the headers")).get("x-held")).toEqual(["yes"]);
      const cancelledAt = Date.now();
      call.cancel();
      const { error } = await readAll(call.rx, 5000);
      expect(error).toBeInstanceOf(GrpcError);
      expect(error).toMatchObject({ code: status.CANCELLED });
      await server.line(/"event":"ended"/, 1000);
      expect(Date.now() - cancelledAt).toBeLessThan(1000);
      expect(endedLines(server)).toEqual([
        { event: "ended", method: "Chat", mode: "hold", code: "Canceled", deadlineMs: -1 },
      ]);
    });

    it("leaving for await early on a server stream cancels it: the grpc-go handler sees Canceled within 1 s", async () => {
      const { client, server } = await connect();
      const call = client.count({ n: 3, text: "hold" });
      const got: number[] = [];
      for await (const m of call.rx) {
        got.push(m.n);
        if (got.length === 2) break;
      }
      const leftAt = Date.now();
      expect(got).toEqual([0, 1]);
      await server.line(/"event":"ended"/, 1000);
      expect(Date.now() - leftAt).toBeLessThan(1000);
      expect(endedLines(server)).toEqual([
        { event: "ended", method: "Count", mode: "hold", code: "Canceled", deadlineMs: -1 },
      ]);
      await expect(call.status).rejects.toMatchObject({ code: status.CANCELLED });
    });

    it("our timeoutMs of 300 goes on the wire: the Go handler sees it, and our rx rejects with DEADLINE_EXCEEDED", async () => {
      const { client, server } = await connect();
      const started = Date.now();
      const call = client.chat({ metadata: mode("hold"), timeoutMs: 300 });
      const { error } = await readAll(call.rx, 5000);
      const elapsed = Date.now() - started;
      expect(error).toMatchObject({ code: status.DEADLINE_EXCEEDED });
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1300);
      await server.line(/"event":"ended"/, 2000);
      const [ended] = endedLines(server);
      expect(ended?.deadlineMs).toBeGreaterThan(100);
      expect(ended?.deadlineMs).toBeLessThanOrEqual(300);
      // The Go server's own timer (DeadlineExceeded) races our RST_STREAM (Canceled) sent at the deadline.
      expect(["DeadlineExceeded", "Canceled"]).toContain(ended?.code);
    });

    it("a grpc-go error status with trailers: our rx rejects with its code, details and metadata (text and -bin)", async () => {
      const { client } = await connect();
      const { error, values, final } = await chatAll(client, "fail", [{ n: 7 }]);
      expect(values).toEqual([]);
      expect(error).toBeInstanceOf(GrpcError);
      const e = error as GrpcError;
      expect(e.code).toBe(status.INVALID_ARGUMENT);
      expect(e.details).toBe("rejected n=7");
      expect(e.metadata.get("retry-after-ms")).toEqual(["250"]);
      expect(e.metadata.get("reason-bin")).toEqual([Buffer.from([0, 1, 2])]);
      expect(final).toBe(error);
    });

    it("a grpc-go server that fails the call while our client sends: the parked send gets its value back", async () => {
      const { client } = await connect();
      const big = (n: number): Msg => ({ n, text: "x".repeat(64 * 1024) });
      const call = client.chat({ metadata: mode("fail"), requestCapacity: 2 });
      const reading = readAll(call.rx);
      const producer = await within(sendUntilRefused(call.tx, big), 10_000, "the producer");
      expect(producer.error).toBeInstanceOf(SendError);
      expect((producer.error as SendError<Msg>).value).toEqual(big(producer.sent));
      expect((producer.error as Error).cause).toMatchObject({ code: status.INVALID_ARGUMENT });
      expect((await reading).error).toMatchObject({ code: status.INVALID_ARGUMENT, details: "rejected n=0" });
    });

    it("our half-close ends only our direction: the grpc-go server answers after it and we read it", async () => {
      const { client } = await connect();
      const { values, error, final } = await chatAll(client, "after-half-close", [{ n: 1 }, { n: 2 }]);
      expect(error).toBeUndefined();
      expect(values).toEqual([2, 3, 4].map((n) => ({ n, text: "after half-close" })));
      expect(final).toMatchObject({ code: status.OK });
    });

    it("gzip both ways: grpc-go decompresses our 20 requests and we decode its 20 gzip responses", async () => {
      const { client } = await connect({ gzip: true });
      const msgs = numbered(20, (i) => `gzip ${i} `.repeat(1500));
      const { values, error, final } = await chatAll(client, "echo", msgs);
      expect(error).toBeUndefined();
      expect(values).toEqual(msgs);
      const trailers = (final as { metadata: Metadata }).metadata;
      expect(trailers.get("x-gzip-decompressed")).toEqual(["20"]);
      expect(trailers.get("x-gzip-compressed")).toEqual(["20"]);
    });

    it("a 1 MiB message each way arrives whole", async () => {
      const { client } = await connect();
      const msgs = [{ n: 1, text: "L".repeat(1 << 20) }];
      const { values, error } = await chatAll(client, "echo", msgs);
      expect(error).toBeUndefined();
      expect(values).toEqual(msgs);
    });

    it("a 5 MiB request: the grpc-go server refuses it with RESOURCE_EXHAUSTED, and our rx says so", async () => {
      const { client } = await connect();
      const { values, error } = await chatAll(client, "echo", [{ n: 1, text: "L".repeat(5 << 20) }]);
      expect(values).toEqual([]);
      expect(error).toBeInstanceOf(GrpcError);
      expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
      expect((error as GrpcError).details).toMatch(/larger than max/);
    });

    it("a 5 MiB response: our client refuses it with RESOURCE_EXHAUSTED (over grpc-js's 4 MiB receive limit)", async () => {
      const { client } = await connect();
      const { values, error } = await chatAll(client, "size", [{ n: 5 << 20 }]);
      expect(values).toEqual([]);
      expect(error).toBeInstanceOf(GrpcError);
      expect(error).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    });

    it("200 concurrent streams on one client: every one echoed and OK", async () => {
      const { client } = await connect();
      const calls = Array.from({ length: 200 }, (_, s) =>
        chatAll(
          client,
          "echo",
          numbered(5, (i) => `s${s} m${i}`),
        ),
      );
      const results = await within(Promise.all(calls), 15_000, "200 streams");
      results.forEach((r, s) => {
        expect(r.error).toBeUndefined();
        expect(r.values).toEqual(numbered(5, (i) => `s${s} m${i}`));
        expect(r.final).toMatchObject({ code: status.OK });
      });
    });
  });
}
