/**
 * Wire interop with gRPC's C core (Debian's python3-grpcio), the python client against our server:
 * each scenario of test/wire/py_scenarios_client.py (the grpc-go client's, test/wire/go/client) runs
 * against our handlers (test/support/wire-script.ts) on every transport of
 * test/support/transport.ts, and asserts what both sides saw. The python side prints grpcio's code
 * names (CANCELLED where grpc-go prints Canceled).
 */
import { status } from "@grpc/grpc-js";
import { GrpcError } from "grpc-mpsc/grpc";
import { expect, it } from "vitest";
import { settledWithin } from "../support/async.js";
import { describeWithPython, runPythonClient } from "../support/python.js";
import type { TcpProxy } from "../support/tcp-proxy.js";
import { TRANSPORTS } from "../support/transport.js";
import { countingProxy, peerClientScenarios } from "../support/wire-peer.js";
import { abortReasonOf } from "../support/wire-script.js";

for (const transport of TRANSPORTS) {
  describeWithPython(`the python-grpcio client against our ${transport.name} server`, () => {
    const { scenario, cancelling } = peerClientScenarios(transport, (target, name) =>
      runPythonClient(target, [name]),
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

    it("server streaming: our Count sends 0..49 and grpcio reads them all, then OK", async () => {
      const { result } = await scenario("server-stream");
      expect(result).toMatchObject({ code: "OK", values: 50, inOrder: true });
    });

    it("client streaming: our Sum reads the 100 numbers and answers 5050", async () => {
      const { result, script } = await scenario("client-stream");
      expect(result).toMatchObject({ code: "OK", sum: 5050, text: "count=100" });
      expect((await script.endedCall()).read).toHaveLength(100);
    });

    it("the reference service: grpcio's hand-encoded protobuf gets each name echoed in order", async () => {
      const { result } = await scenario("messages");
      expect(result).toMatchObject({ code: "OK", responses: ["echo: Py", "echo: Pythonista ✓"] });
    });

    it("a grpcio client cancel: our handler's requests reject with CANCELLED and ctx.signal aborts within 1 s", async () => {
      const { result, script, cancelledAt } = await cancelling("cancel");
      expect(result).toMatchObject({ code: "CANCELLED", headers: { "x-held": "yes" } });
      const ended = await script.endedCall();
      expect(ended.mode).toBe("hold");
      expect(ended.abortReason).toBeInstanceOf(GrpcError);
      expect(ended.abortReason).toMatchObject({ code: status.CANCELLED });
      expect(ended.requestsEnd).toBeInstanceOf(GrpcError);
      expect(ended.requestsEnd).toMatchObject({ code: status.CANCELLED });
      expect((ended.abortedAt ?? Number.POSITIVE_INFINITY) - cancelledAt).toBeLessThan(1000);
    });

    it("a grpcio client cancelling a server stream: our Count handler's signal aborts with CANCELLED within 1 s", async () => {
      const { result, script, cancelledAt } = await cancelling("server-stream-cancel");
      expect(result).toMatchObject({ code: "CANCELLED", values: 2 });
      const ended = await script.endedCall();
      expect(ended).toMatchObject({ method: "Count", mode: "hold", sendEnd: "ok" });
      expect(ended.abortReason).toMatchObject({ code: status.CANCELLED });
      expect((ended.abortedAt ?? Number.POSITIVE_INFINITY) - cancelledAt).toBeLessThan(1000);
    });

    it("a grpcio timeout of 300 ms: our handler sees it in ctx.deadline, its signal aborts, and grpcio gets DEADLINE_EXCEEDED", async () => {
      const { result, script } = await scenario("deadline");
      expect(result.code).toBe("DEADLINE_EXCEEDED");
      expect(result.elapsedMs).toBeGreaterThanOrEqual(290);
      expect(result.elapsedMs).toBeLessThan(1300);
      const ended = await script.endedCall();
      expect(ended.deadlineMs).toBeGreaterThan(100);
      // grpcio puts a little more on the wire: "301m" or "302m" for a timeout of 0.3 s (its deadline,
      // taken from the wall clock, moved onto the C core's clock and rounded up).
      expect(ended.deadlineMs).toBeLessThanOrEqual(310);
      // Both ends keep the deadline: our server's own timer (DEADLINE_EXCEEDED) races the client's
      // RST_STREAM (CANCELLED) sent at the same moment.
      expect([status.DEADLINE_EXCEEDED, status.CANCELLED]).toContain((ended.abortReason as GrpcError).code);
    });

    it("our GrpcError with trailers reaches grpcio: code, details, text and -bin trailers", async () => {
      const { result, script } = await scenario("error");
      expect(result).toMatchObject({
        code: "INVALID_ARGUMENT",
        message: "rejected n=7",
        values: 0,
        trailers: { "retry-after-ms": "250", "reason-bin": "AAEC" },
      });
      expect((await script.endedCall()).read).toEqual([{ n: 7 }]);
    });

    it("a grpcio half-close ends only its direction: our handler answers after it, and grpcio reads it", async () => {
      const { result, script } = await scenario("after-half-close");
      expect(result).toMatchObject({
        code: "OK",
        values: ["2 after half-close", "3 after half-close", "4 after half-close"],
      });
      expect((await script.endedCall()).requestsEnd).toBe("end");
    });

    it(`gzip requests from grpcio are decoded by our server (its answers ${transport.compressesResponses ? "gzip too" : "uncompressed"}), as the bytes on the wire show`, async () => {
      let proxy: TcpProxy | undefined;
      const { result, script } = await scenario("gzip", {
        via: async (port) => {
          proxy = await countingProxy(port);
          return proxy.port;
        },
      });
      expect(result).toMatchObject({ code: "OK", values: 20, inOrder: true });
      expect((await script.endedCall()).read[19]?.text).toBe("gzip 19 ".repeat(1500));
      // 20 messages of 10.5-12 KB: 225 KB each way plain, a few hundred bytes each gzipped.
      expect(proxy?.bytes.toServer).toBeLessThan(40_000);
      if (transport.compressesResponses) expect(proxy?.bytes.toClient).toBeLessThan(40_000);
      else expect(proxy?.bytes.toClient).toBeGreaterThan(200_000);
    });

    it("a 1 MiB message each way arrives whole", async () => {
      const { result, script } = await scenario("large");
      expect(result).toMatchObject({ code: "OK", values: 1, inOrder: true });
      expect((await script.endedCall()).read[0]?.text).toHaveLength(1 << 20);
    });

    it("a 5 MiB request from grpcio: our server refuses it with RESOURCE_EXHAUSTED, our handler sees the call end", async () => {
      const { result, script } = await scenario("too-large-send");
      expect(result.code).toBe("RESOURCE_EXHAUSTED");
      expect(result.values).toBe(0);
      const ended = await script.endedCall();
      expect(ended.read).toEqual([]);
      expect(ended.requestsEnd).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    });

    it("a 5 MiB response to grpcio: grpcio refuses it with RESOURCE_EXHAUSTED, and our handler's call ends", async () => {
      const { result, script } = await scenario("too-large-recv");
      expect(result.code).toBe("RESOURCE_EXHAUSTED");
      const ended = await script.endedCall();
      expect(ended.read).toEqual([{ n: 5 << 20 }]);
      expect(ended).toMatchObject({ requestsEnd: "end", sendEnd: "ok" });
      // grpcio refuses a message once it has read all of it (grpc-go at its length prefix): its
      // window takes the 5 MiB in, so our status is usually out by then and the call ended OK for
      // us. Where it was not, grpcio resets the stream with ENHANCE_YOUR_CALM (grpc-go: CANCEL),
      // which h2 reads as RESOURCE_EXHAUSTED; grpc-js tells its handlers any reset as CANCELLED.
      const reset = await settledWithin(abortReasonOf(ended.signal), 500);
      if (reset !== "PENDING") {
        const code = transport.name === "h2" ? status.RESOURCE_EXHAUSTED : status.CANCELLED;
        expect(reset).toMatchObject({ v: { code } });
      }
    });

    it("200 concurrent grpcio streams on one channel: every one echoed and OK", async () => {
      const { result, script } = await scenario("concurrent");
      expect(result).toMatchObject({ streams: 200, ok: 200, codes: ["OK"] });
      expect(script.ended).toHaveLength(200);
      expect(script.ended.every((e) => e.requestsEnd === "end" && e.read.length === 5)).toBe(true);
    });
  });
}
