/**
 * Wire interop with grpc-go (Debian's golang-google-grpc-dev), the grpc-go client against our server:
 * each scenario of test/wire/go/client runs against our handlers (test/support/wire-script.ts) on
 * every transport of test/support/transport.ts, and asserts what both sides saw.
 */
import { status } from "@grpc/grpc-js";
import { GrpcError } from "grpc-mpsc/grpc";
import { beforeAll, expect, it } from "vitest";
import { buildGoPeers, describeWithGo, runGoClient } from "../support/go.js";
import { TRANSPORTS } from "../support/transport.js";
import { peerClientScenarios } from "../support/wire-peer.js";
import { abortReasonOf } from "../support/wire-script.js";

for (const transport of TRANSPORTS) {
  describeWithGo(`the grpc-go client against our ${transport.name} server`, () => {
    beforeAll(() => {
      const { buildMs } = buildGoPeers();
      if (buildMs > 0) console.info(`built the grpc-go peers in ${buildMs} ms`);
    }, 300_000);

    const { scenario, cancelling } = peerClientScenarios(transport, (target, name) =>
      runGoClient(target, [name]),
    );

    it("bidi: 100 messages echoed equal and in order, then OK with our trailers (its -bin header echoed in one)", async () => {
      const { result, script } = await scenario("bidi-echo");
      expect(result).toMatchObject({
        code: "OK",
        values: 100,
        inOrder: true,
        trailers: { "x-echoed": "100", "x-token-bin": Buffer.from([0xff, 0, 1]).toString("base64") },
      });
      const ended = await script.endedCall();
      expect(ended.read).toHaveLength(100);
      expect(ended.read[99]).toEqual({ n: 99, text: "m99 ✓" });
      expect(ended.requestsEnd).toBe("end");
    });

    it("server streaming: our Count sends 0..49 and grpc-go reads them all, then OK", async () => {
      const { result } = await scenario("server-stream");
      expect(result).toMatchObject({ code: "OK", values: 50, inOrder: true });
    });

    it("client streaming: our Sum reads the 100 numbers and answers 5050", async () => {
      const { result, script } = await scenario("client-stream");
      expect(result).toMatchObject({ code: "OK", sum: 5050, text: "count=100" });
      expect((await script.endedCall()).read).toHaveLength(100);
    });

    it("the reference service: grpc-go's generated client gets each name echoed in order (protobuf both ways)", async () => {
      const { result } = await scenario("messages");
      expect(result).toMatchObject({ code: "OK", responses: ["echo: Go", "echo: Gopher ✓"] });
    });

    it("a grpc-go client cancel: our handler's requests reject with CANCELLED and ctx.signal aborts within 1 s", async () => {
      const { result, script, cancelledAt } = await cancelling("cancel");
      expect(result).toMatchObject({ code: "Canceled", headers: { "x-held": "yes" } });
      const ended = await script.endedCall();
      expect(ended.mode).toBe("hold");
      expect(ended.abortReason).toBeInstanceOf(GrpcError);
      expect(ended.abortReason).toMatchObject({ code: status.CANCELLED });
      expect(ended.requestsEnd).toBeInstanceOf(GrpcError);
      expect(ended.requestsEnd).toMatchObject({ code: status.CANCELLED });
      expect((ended.abortedAt ?? Number.POSITIVE_INFINITY) - cancelledAt).toBeLessThan(1000);
    });

    it("a grpc-go client cancelling a server stream: our Count handler's signal aborts with CANCELLED within 1 s", async () => {
      const { result, script, cancelledAt } = await cancelling("server-stream-cancel");
      expect(result).toMatchObject({ code: "Canceled", values: 2 });
      const ended = await script.endedCall();
      expect(ended).toMatchObject({ method: "Count", mode: "hold", sendEnd: "ok" });
      expect(ended.abortReason).toMatchObject({ code: status.CANCELLED });
      expect((ended.abortedAt ?? Number.POSITIVE_INFINITY) - cancelledAt).toBeLessThan(1000);
    });

    it("a grpc-go deadline of 300 ms: our handler sees it in ctx.deadline, its signal aborts, and grpc-go gets DEADLINE_EXCEEDED", async () => {
      const { result, script } = await scenario("deadline");
      expect(result.code).toBe("DeadlineExceeded");
      expect(result.elapsedMs).toBeGreaterThanOrEqual(290);
      expect(result.elapsedMs).toBeLessThan(1300);
      const ended = await script.endedCall();
      expect(ended.deadlineMs).toBeGreaterThan(100);
      expect(ended.deadlineMs).toBeLessThanOrEqual(300);
      // Both ends keep the deadline: our server's own timer (DEADLINE_EXCEEDED) races the client's
      // RST_STREAM (CANCELLED) sent at the same moment.
      expect([status.DEADLINE_EXCEEDED, status.CANCELLED]).toContain((ended.abortReason as GrpcError).code);
    });

    it("our GrpcError with trailers reaches grpc-go: code, details, text and -bin trailers", async () => {
      const { result, script } = await scenario("error");
      expect(result).toMatchObject({
        code: "InvalidArgument",
        message: "rejected n=7",
        values: 0,
        trailers: { "retry-after-ms": "250", "reason-bin": "AAEC" },
      });
      expect((await script.endedCall()).read).toEqual([{ n: 7 }]);
    });

    it("a grpc-go half-close ends only its direction: our handler answers after it, and grpc-go reads it", async () => {
      const { result, script } = await scenario("after-half-close");
      expect(result).toMatchObject({
        code: "OK",
        values: ["2 after half-close", "3 after half-close", "4 after half-close"],
      });
      expect((await script.endedCall()).requestsEnd).toBe("end");
    });

    it(`gzip requests from grpc-go are decoded by our server (its answers ${transport.compressesResponses ? "gzip too" : "uncompressed"})`, async () => {
      const { result, script } = await scenario("gzip");
      expect(result).toMatchObject({ code: "OK", values: 20, inOrder: true, compressed: 20 });
      // grpc-js servers never compress responses: grpc-go decompressed nothing from them.
      expect(result.decompressed).toBe(transport.compressesResponses ? 20 : 0);
      expect((await script.endedCall()).read[19]?.text).toBe("gzip 19 ".repeat(1500));
    });

    it("a 1 MiB message each way arrives whole", async () => {
      const { result, script } = await scenario("large");
      expect(result).toMatchObject({ code: "OK", values: 1, inOrder: true });
      expect((await script.endedCall()).read[0]?.text).toHaveLength(1 << 20);
    });

    it("a 5 MiB request from grpc-go: our server refuses it with RESOURCE_EXHAUSTED, our handler sees the call end", async () => {
      const { result, script } = await scenario("too-large-send");
      expect(result.code).toBe("ResourceExhausted");
      expect(result.values).toBe(0);
      const ended = await script.endedCall();
      expect(ended.read).toEqual([]);
      expect(ended.requestsEnd).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    });

    it("a 5 MiB response to grpc-go: grpc-go refuses it with RESOURCE_EXHAUSTED, and our handler's call ends", async () => {
      const { result, script } = await scenario("too-large-recv");
      expect(result.code).toBe("ResourceExhausted");
      const ended = await script.endedCall();
      expect(ended.read).toEqual([{ n: 5 << 20 }]);
      // The handler may return before grpc-go's reset (its send queued, not yet written): the
      // call's end still aborts ctx.signal.
      expect(await abortReasonOf(ended.signal)).toMatchObject({ code: status.CANCELLED });
    });

    it("200 concurrent grpc-go streams on one connection: every one echoed and OK", async () => {
      const { result, script } = await scenario("concurrent");
      expect(result).toMatchObject({ streams: 200, ok: 200, codes: ["OK"] });
      expect(script.ended).toHaveLength(200);
      expect(script.ended.every((e) => e.requestsEnd === "end" && e.read.length === 5)).toBe(true);
    });
  });
}
