/**
 * An OpenTelemetry recipe for grpc-mpsc's diagnostics events: a subscriber that turns each gRPC call
 * into a span with the RPC semantic conventions (`rpc.system`, `rpc.service`, `rpc.method`,
 * `rpc.grpc.status_code`, plus message counts) and an `rpc.server.duration` / `rpc.client.duration`
 * histogram, and the channel events into metrics (a send-wait histogram, lag and drop counters).
 * It depends on `@opentelemetry/api` only: the application brings the SDK and its exporters
 * (`main.ts` beside this file, and `test/examples/observability.test.ts` with in-memory exporters).
 *
 * Not a program: import `instrument` from it (`npm run example:observability` runs it, from main.ts).
 */
import { subscribe, tracingChannel, unsubscribe } from "node:diagnostics_channel";
import { type Meter, type Span, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { channelEvents, type DropEvent, type LagEvent, type SendWaitEvent } from "grpc-mpsc";
import { type CallTrace, callEvents } from "grpc-mpsc/grpc";

/** What {@link instrument} reports to. */
export interface Telemetry {
  /** Spans of gRPC calls come from it. */
  tracer: Tracer;
  /** Histograms and counters come from it. */
  meter: Meter;
}

/**
 * gRPC codes a server span marks as an error (the RPC semantic conventions): the server's fault, not
 * the client's. A client span marks every code but OK.
 */
const SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

/** `/package.Service/Method` -> [`package.Service`, `Method`]. */
function splitMethod(path: string): [string, string] {
  const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return match ? [match[1] as string, match[2] as string] : ["unknown", path];
}

/**
 * Subscribes to grpc-mpsc's events and reports them to `telemetry`; returns the function that
 * unsubscribes. Call it once, before the server or client starts.
 */
export function instrument({ tracer, meter }: Telemetry): () => void {
  const spans = new WeakMap<CallTrace, Span>();
  const durations = {
    server: meter.createHistogram("rpc.server.duration", {
      unit: "ms",
      description: "gRPC server call duration",
    }),
    client: meter.createHistogram("rpc.client.duration", {
      unit: "ms",
      description: "gRPC client call duration",
    }),
  };
  const waits = meter.createHistogram("grpc_mpsc.channel.send_wait", {
    unit: "ms",
    description: "How long a send waited for room in a full channel",
  });
  const lagged = meter.createCounter("grpc_mpsc.broadcast.lagged", {
    description: "Values broadcast receivers missed by falling behind",
  });
  const dropped = meter.createCounter("grpc_mpsc.channel.dropped", {
    description: "Values overflow policies dropped",
  });

  const calls = {
    start(message: unknown): void {
      const call = message as CallTrace;
      const [service, method] = splitMethod(call.method);
      spans.set(
        call,
        tracer.startSpan(`${service}/${method}`, {
          kind: call.side === "server" ? SpanKind.SERVER : SpanKind.CLIENT,
          attributes: {
            "rpc.system": "grpc",
            "rpc.service": service,
            "rpc.method": method,
            "network.peer.address": call.peer,
          },
        }),
      );
    },
    asyncEnd(message: unknown): void {
      const call = message as CallTrace;
      const span = spans.get(call);
      if (span === undefined) return;
      const [service, method] = splitMethod(call.method);
      span.setAttributes({
        "rpc.grpc.status_code": call.code,
        "grpc_mpsc.call.ending": call.ending ?? "unknown",
        "grpc_mpsc.messages.sent": call.messagesSent,
        "grpc_mpsc.messages.received": call.messagesReceived,
      });
      const failed = call.side === "server" ? SERVER_ERRORS.has(call.code) : call.code !== 0;
      if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: call.details });
      span.end();
      durations[call.side].record(call.durationMs, {
        "rpc.system": "grpc",
        "rpc.service": service,
        "rpc.method": method,
        "rpc.grpc.status_code": call.code,
      });
    },
    // The span opens at start and closes at asyncEnd; these have nothing to add.
    end(): void {},
    asyncStart(): void {},
    error(): void {},
  };
  const onWait = (message: unknown): void => {
    const wait = message as SendWaitEvent;
    waits.record(wait.waitedMs, { op: wait.op, outcome: wait.outcome });
  };
  const onLag = (message: unknown): void => lagged.add((message as LagEvent).missed);
  const onDrop = (message: unknown): void => dropped.add(1, { policy: (message as DropEvent).policy });

  const server = tracingChannel(callEvents.serverCall);
  const client = tracingChannel(callEvents.clientCall);
  server.subscribe(calls);
  client.subscribe(calls);
  subscribe(channelEvents.sendWait, onWait);
  subscribe(channelEvents.lag, onLag);
  subscribe(channelEvents.drop, onDrop);
  return () => {
    server.unsubscribe(calls);
    client.unsubscribe(calls);
    unsubscribe(channelEvents.sendWait, onWait);
    unsubscribe(channelEvents.lag, onLag);
    unsubscribe(channelEvents.drop, onDrop);
  };
}
