import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { DataPoint, Histogram } from "@opentelemetry/sdk-metrics";
import { broadcast, channel } from "grpc-mpsc";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { runClient } from "../../examples/message-service/client.js";
import { type RunningServer, startServer } from "../../examples/message-service/server.js";
import { memoryTelemetry } from "../../examples/observability/memory.js";
import { instrument } from "../../examples/observability/otel.js";
import { sleep } from "../support/async.js";

const telemetry = memoryTelemetry();
const spans = telemetry.spans;
const points = telemetry.points;
afterAll(() => telemetry.shutdown());

let server: RunningServer | undefined;
let stop: (() => void) | undefined;
afterEach(async () => {
  await server?.shutdown(1000);
  server = undefined;
  stop?.();
  telemetry.reset();
});

/** The value of a histogram data point (throws if there is none). */
function histogram(point: DataPoint<unknown> | undefined): Histogram {
  if (point === undefined) throw new Error("no data point");
  return point.value as Histogram;
}

describe("the OpenTelemetry recipe (examples/observability/otel.ts)", () => {
  it("turns the reference MessageService's calls into a server and a client span with the RPC conventions", async () => {
    stop = instrument(telemetry);
    server = await startServer({ port: 0, intervalMs: 40, log: () => {} });
    const result = await runClient({
      target: `127.0.0.1:${server.port}`,
      name: "Ada",
      count: 3,
      intervalMs: 30,
      log: () => {},
    });
    expect(result.responses).toHaveLength(3);
    for (let waited = 0; spans.getFinishedSpans().length < 2 && waited < 3000; waited += 10) await sleep(10);
    const finished = spans.getFinishedSpans();
    const serverSpan = finished.find((s) => s.kind === SpanKind.SERVER);
    const clientSpan = finished.find((s) => s.kind === SpanKind.CLIENT);
    expect(finished).toHaveLength(2);
    for (const span of [serverSpan, clientSpan]) {
      expect(span?.name).toBe("messages.MessageService/StreamMessages");
      expect(span?.attributes).toMatchObject({
        "rpc.system": "grpc",
        "rpc.service": "messages.MessageService",
        "rpc.method": "StreamMessages",
        "rpc.grpc.status_code": 1, // the client cancels after 3 responses
        "grpc_mpsc.call.ending": "cancelled",
      });
    }
    expect(clientSpan?.attributes["grpc_mpsc.messages.received"]).toBe(3);
    expect(clientSpan?.attributes["grpc_mpsc.messages.sent"]).toBe(result.sent);
    expect(serverSpan?.attributes["grpc_mpsc.messages.sent"]).toBeGreaterThanOrEqual(3);
    expect(serverSpan?.attributes["grpc_mpsc.messages.received"]).toBeLessThanOrEqual(result.sent);
    // CANCELLED is the client's doing: an error on the client span, not on the server's.
    expect(clientSpan?.status.code).toBe(SpanStatusCode.ERROR);
    expect(serverSpan?.status.code).toBe(SpanStatusCode.UNSET);
    const [serverDuration] = await points("rpc.server.duration");
    const [clientDuration] = await points("rpc.client.duration");
    expect(histogram(serverDuration).count).toBe(1);
    expect(histogram(clientDuration).count).toBe(1);
    expect(histogram(clientDuration).sum).toBeGreaterThan(3 * 30);
    expect(clientDuration?.attributes).toMatchObject({
      "rpc.method": "StreamMessages",
      "rpc.grpc.status_code": 1,
    });
  });

  it("turns channel events into a send-wait histogram and lag and drop counters", async () => {
    stop = instrument(telemetry);
    const [tx, rx] = channel<number>(1);
    tx.trySend(1);
    const parked = tx.send(2);
    await sleep(40);
    await rx.recv();
    await parked;
    const [btx, brx] = broadcast<number>(2);
    for (let i = 0; i < 7; i++) btx.send(i);
    await brx.recv(); // Lagged(5)
    const [dtx] = channel<number>(1, { overflow: "drop-newest" });
    dtx.trySend(1);
    dtx.trySend(2);
    await Promise.resolve();
    const [wait] = await points("grpc_mpsc.channel.send_wait");
    expect(wait?.attributes).toEqual({ op: "send", outcome: "sent" });
    expect(histogram(wait).count).toBe(1);
    expect(histogram(wait).sum).toBeGreaterThanOrEqual(35);
    const [lag] = await points("grpc_mpsc.broadcast.lagged");
    expect(lag?.value).toBe(5);
    const [drop] = await points("grpc_mpsc.channel.dropped");
    expect(drop?.value).toBe(1);
    expect(drop?.attributes).toEqual({ policy: "drop-newest" });
  });
});
