/**
 * OpenTelemetry SDK providers that keep what they collect in memory, for `main.ts` and the recipe's
 * test: a tracer whose finished spans can be read back, and a meter whose metrics are exported on
 * demand (`collect()`). In an application, exporters that send to a collector take their place.
 *
 * Not a program: `main.ts` and `test/examples/observability.test.ts` import it.
 */
import type { Meter, Tracer } from "@opentelemetry/api";
import {
  AggregationTemporality,
  type DataPoint,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** In-memory telemetry: what `instrument()` needs, and what it reported. */
export interface MemoryTelemetry {
  readonly tracer: Tracer;
  readonly meter: Meter;
  /** Spans ended so far. */
  readonly spans: InMemorySpanExporter;
  /** Exports the metrics now and returns them, by name. */
  collect(): Promise<Map<string, MetricData>>;
  /** The data points of metric `name` now (none if it recorded nothing). */
  points(name: string): Promise<DataPoint<unknown>[]>;
  /** Forgets what was collected. */
  reset(): void;
  /** Shuts both providers down. */
  shutdown(): Promise<void>;
}

/** Makes a tracer and a meter that report into memory. */
export function memoryTelemetry(): MemoryTelemetry {
  const spans = new InMemorySpanExporter();
  const tracing = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const exported = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported when collect() asks: the interval only has to be longer than any run.
  const reader = new PeriodicExportingMetricReader({ exporter: exported, exportIntervalMillis: 3_600_000 });
  const meters = new MeterProvider({ readers: [reader] });
  const collect = async (): Promise<Map<string, MetricData>> => {
    await reader.forceFlush();
    const last = exported.getMetrics().at(-1);
    const all = last?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
    return new Map(all.map((m) => [m.descriptor.name, m]));
  };
  return {
    tracer: tracing.getTracer("grpc-mpsc"),
    meter: meters.getMeter("grpc-mpsc"),
    spans,
    collect,
    points: async (name) => ((await collect()).get(name)?.dataPoints ?? []) as DataPoint<unknown>[],
    reset: () => {
      spans.reset();
      exported.reset();
    },
    shutdown: async () => {
      await Promise.all([tracing.shutdown(), meters.shutdown()]);
    },
  };
}
