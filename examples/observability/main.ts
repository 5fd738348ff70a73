/**
 * The OpenTelemetry recipe on the reference MessageService, end to end on loopback: `instrument()`
 * (otel.ts) subscribes to grpc-mpsc's diagnostics events, the server and a client run in this
 * process (the client cancels after 3 responses), and the spans and metrics collected in memory
 * (memory.ts) are printed. Swap in OTLP exporters to send them to a collector. Exits 0.
 *
 * Run: `npm run example:observability` (or `npx tsx examples/observability/main.ts`).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { SpanKind } from "@opentelemetry/api";
import { parseFlags, runCli } from "../cli.js";
import { runClient } from "../message-service/client.js";
import { startServer } from "../message-service/server.js";
import { memoryTelemetry } from "./memory.js";
import { instrument } from "./otel.js";

runCli("observability", "usage: main.ts (no flags)", async () => {
  parseFlags({}, process.argv.slice(2));
  const telemetry = memoryTelemetry();
  const stop = instrument(telemetry);
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
  for (const span of telemetry.spans.getFinishedSpans()) {
    const kind = span.kind === SpanKind.SERVER ? "server" : "client";
    console.log(`span ${span.name} (${kind}) ${JSON.stringify(span.attributes)}`);
  }
  for (const [name, metric] of await telemetry.collect()) {
    console.log(`metric ${name}: ${metric.dataPoints.length} series`);
  }
  await telemetry.shutdown();
  return 0;
});
