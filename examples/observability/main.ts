/**
 * The OpenTelemetry recipe on the reference MessageService, end to end on loopback: `instrument()`
 * (otel.ts) subscribes to grpc-mpsc's diagnostics events, the server and a client run in this
 * process (the client cancels after 3 responses), and the spans and metrics collected by in-memory
 * exporters are printed. Swap the exporters for OTLP ones to send them to a collector. Exits 0.
 *
 * Run: `npm run example:observability` (or `npx tsx examples/observability/main.ts`).
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { parseFlags, runCli } from "../cli.js";
import { runClient } from "../message-service/client.js";
import { startServer } from "../message-service/server.js";
import { instrument } from "./otel.js";

runCli("observability", "usage: main.ts (no flags)", async () => {
  parseFlags({}, process.argv.slice(2));
  const spans = new InMemorySpanExporter();
  const tracing = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 60_000 });
  const meters = new MeterProvider({ readers: [reader] });
  const stop = instrument({ tracer: tracing.getTracer("grpc-mpsc"), meter: meters.getMeter("grpc-mpsc") });
  const server = await startServer({ port: 0, intervalMs: 100, log: () => {} });
  try {
    await runClient({
      target: `127.0.0.1:${server.port}`,
      name: "Ada",
      count: 3,
      intervalMs: 80,
      log: () => {},
    });
    for (let waited = 0; server.activeLoops > 0 && waited < 2000; waited += 10) await sleep(10);
  } finally {
    await server.shutdown(2000);
    stop();
  }
  await reader.forceFlush();
  for (const span of spans.getFinishedSpans()) {
    console.log(
      `span ${span.name} (${span.kind === 1 ? "server" : "client"}) ${JSON.stringify(span.attributes)}`,
    );
  }
  for (const { scopeMetrics } of metrics.getMetrics()) {
    for (const { metrics: list } of scopeMetrics) {
      for (const m of list) console.log(`metric ${m.descriptor.name}: ${m.dataPoints.length} series`);
    }
  }
  await Promise.all([tracing.shutdown(), meters.shutdown()]);
  return 0;
});
