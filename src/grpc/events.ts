/**
 * The gRPC adapters' diagnostics events: a `TracingChannel` per side for a call's lifetime, and named
 * channels for a cancel, a shutdown reaching a handler and a slow broadcast client. Each publisher
 * checks for subscribers first: with nobody listening a call makes no trace object and publishes
 * nothing (docs/observability.md lists the events and their payloads).
 *
 * @module
 */
import { diagnosticsChannel, isTraced, now, tracingChannels } from "../channel/index.js";
import { Code } from "./codes.js";
import type { GrpcError } from "./grpc-error.js";

/** The names of the gRPC adapters' `node:diagnostics_channel` channels. */
export const callEvents = Object.freeze({
  /**
   * A `TracingChannel` (subscribe with `diagnostics_channel.tracingChannel(name)`): one context object
   * ({@link CallTrace}) per server call, through `start` (the handler is called inside it), `end`,
   * then at the call's end `error` (not OK), `asyncStart` and `asyncEnd`.
   */
  serverCall: "grpc-mpsc:server:call",
  /** The same for a client call opened with `bidiCall`, `serverStreamCall` or `clientStreamCall`. */
  clientCall: "grpc-mpsc:client:call",
  /** A call ended by a cancel: the client's (seen by either side) or the connection's loss: {@link CallCancelEvent}. */
  cancel: "grpc-mpsc:call:cancel",
  /** A server shutdown (`shutdownSignal`, `shutdownServer`) reached a handler: {@link CallShutdownEvent}. */
  shutdown: "grpc-mpsc:server:shutdown",
  /** `sendBroadcast` found its client behind and skipped values or ended the call: {@link SlowClientEvent}. */
  slowClient: "grpc-mpsc:broadcast:slow-client",
});

/**
 * How a call ended: `"ok"` (status OK, also when a server ended it before the client's half-close),
 * `"error"` (another status: a handler's error, one grpc-js sent, or any other the client received),
 * `"cancelled"` (a client cancel: the caller's, an `AbortSignal`, a closed `rx`), `"deadline"`,
 * `"shutdown"` (the server shut down under a handler), `"lost"` (a server lost its client's
 * connection, or the client reset the stream with a code other than CANCEL, as Node does for the
 * streams of a client process that died).
 */
export type CallEnding = "ok" | "error" | "cancelled" | "deadline" | "shutdown" | "lost";

/** What a call carried: messages and bytes each way (bytes only of messages that are byte arrays). */
export interface CallMetrics {
  /**
   * Messages handed to the call's writes (a server-streaming client's one request, a
   * client-streaming server's one response count too).
   */
  readonly messagesSent: number;
  /** Messages read from the call (the one request or response of those call kinds included). */
  readonly messagesReceived: number;
  /**
   * Bytes of the messages sent that were `Uint8Array`s (a raw codec). grpc-js serializes below the
   * adapters and reports no size, so messages that are objects (ts-proto, proto-loader) count 0 here.
   */
  readonly bytesSent: number;
  /** Bytes of the messages read that were `Uint8Array`s; as {@link CallMetrics.bytesSent}. */
  readonly bytesReceived: number;
}

/**
 * The context of a call's `TracingChannel` events, one object per call, the same in each event: set
 * at `start`, and completed (`code` onwards) before `error` / `asyncStart` / `asyncEnd`. Subscribers
 * may add their own properties to it (a span, as undici's and fastify's subscribers do).
 */
export interface CallTrace extends CallMetrics {
  /** Which side this is. */
  readonly side: "server" | "client";
  /** The full method name, `/package.Service/Method` (`"unknown method"` when grpc-js does not tell). */
  readonly method: string;
  /** The peer's address, as grpc-js gives it. */
  readonly peer: string;
  /** The call's deadline, or `undefined`. */
  readonly deadline: Date | undefined;
  /** When the call started, on `performance.now()`'s clock. */
  readonly startTime: number;
  /** The final status code (-1 until the end). */
  readonly code: number;
  /** The final status details ("" until the end). */
  readonly details: string;
  /** How it ended (`undefined` until the end). */
  readonly ending: CallEnding | undefined;
  /** From start to end, in milliseconds (0 until the end). */
  readonly durationMs: number;
  /** The call's error when it did not end OK (as `TracingChannel` sets it for `error`). */
  readonly error: GrpcError | undefined;
}

/** The payload of `grpc-mpsc:call:cancel`. */
export interface CallCancelEvent {
  readonly side: "server" | "client";
  readonly method: string;
  readonly peer: string;
  /** The call's status code: `CANCELLED` (1). */
  readonly code: number;
  readonly details: string;
  /** `true` when this side cancelled (a client's caller), `false` when it learnt of the peer's. */
  readonly local: boolean;
  /** `"cancelled"`, or `"lost"` when a server lost the client's connection. */
  readonly ending: CallEnding;
}

/** The payload of `grpc-mpsc:server:shutdown`. */
export interface CallShutdownEvent {
  readonly method: string;
  readonly peer: string;
  /** The status the call ends with (`UNAVAILABLE`, 14, unless the abort reason was a `GrpcError`). */
  readonly code: number;
  readonly details: string;
}

/** The payload of `grpc-mpsc:broadcast:slow-client`. */
export interface SlowClientEvent {
  /** What `sendBroadcast` does about it: skip to the oldest value kept, or end the call. */
  readonly policy: "skip" | "end";
  /** Values the client missed this time. */
  readonly missed: number;
  /** Values it missed so far in this `sendBroadcast`. */
  readonly totalMissed: number;
  /** Values handed to its call so far. */
  readonly sent: number;
}

/** The counters of one call, read at its end. */
export interface CallCounters {
  readonly messages: number;
  readonly bytes: number;
}

/**
 * A call's {@link CallMetrics}, from the counters of its writer (`sent`) and read pump (`received`).
 * A call kind with one message on one side (a server-streaming call's request, a client-streaming
 * call's response) has no writer or pump there: `single` is that message's size in bytes, or -1
 * while there is none yet, and it counts on the side that has no counters.
 */
export function callMetrics(
  sent: CallCounters | undefined,
  received: CallCounters | undefined,
  single = -1,
): CallMetrics {
  const one = single < 0 ? 0 : 1;
  const oneBytes = single < 0 ? 0 : single;
  return {
    messagesSent: sent === undefined ? one : sent.messages,
    messagesReceived: received === undefined ? one : received.messages,
    bytesSent: sent === undefined ? oneBytes : sent.bytes,
    bytesReceived: received === undefined ? oneBytes : received.bytes,
  };
}

/** The `single` of {@link callMetrics} for `message`: its size if it is a byte array, else 0. */
export function singleBytes(message: unknown): number {
  return message instanceof Uint8Array ? message.byteLength : 0;
}

/** The trace of one call: the {@link CallTrace} object the events carry. */
class Trace implements CallTrace {
  code = -1;
  details = "";
  ending: CallEnding | undefined = undefined;
  messagesSent = 0;
  messagesReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
  durationMs = 0;
  error: GrpcError | undefined = undefined;
  readonly startTime = now();

  constructor(
    readonly side: "server" | "client",
    readonly method: string,
    readonly peer: string,
    readonly deadline: Date | undefined,
  ) {}
}

const serverTracing = tracingChannels(callEvents.serverCall);
const clientTracing = tracingChannels(callEvents.clientCall);
const cancel = diagnosticsChannel(callEvents.cancel);
const shutdown = diagnosticsChannel(callEvents.shutdown);
const slowClient = diagnosticsChannel(callEvents.slowClient);

/** What the trace of a call starting needs to know, read only if somebody listens. */
export interface TraceSource {
  readonly method: string;
  readonly peer: string;
  readonly deadline: Date | undefined;
}

/**
 * A trace for a server call, if anybody listens to server calls, cancels or shutdowns (else
 * `undefined`, and nothing is read of `source`). The cancel and shutdown events take the peer from
 * it: grpc-js reports a server call's peer as "unknown" once its stream is closed, as it is by then.
 */
export function serverTrace(source: TraceSource): CallTrace | undefined {
  if (!isTraced(serverTracing) && !cancel.hasSubscribers && !shutdown.hasSubscribers) return undefined;
  return new Trace(
    "server",
    safely(() => source.method),
    safely(() => source.peer),
    source.deadline,
  );
}

/**
 * Runs a server handler inside its trace's `start` (stores bound to it, such as a span's context in
 * an `AsyncLocalStorage`, are set while it runs), then publishes `end`, still inside those stores as
 * Node's own `TracingChannel.traceSync` does. Without a trace, just runs it.
 */
export function runTraced<R>(trace: CallTrace | undefined, fn: () => R): R {
  if (trace === undefined) return fn();
  const { start, end } = serverTracing;
  const run = (): R => {
    try {
      return fn();
    } finally {
      end.publish(trace);
    }
  };
  if (start.runStores !== undefined) return start.runStores(trace, run);
  start.publish(trace);
  return run();
}

/** Whether anybody listens to client calls (check before making what {@link clientTrace} reads). */
export function clientTraced(): boolean {
  return isTraced(clientTracing);
}

/** A trace for a client call that was just opened, if anybody listens: `start` and `end` are published now. */
export function clientTrace(source: TraceSource): CallTrace | undefined {
  if (!isTraced(clientTracing)) return undefined;
  const trace = new Trace(
    "client",
    safely(() => source.method),
    safely(() => source.peer),
    source.deadline,
  );
  clientTracing.start.publish(trace);
  clientTracing.end.publish(trace);
  return trace;
}

/**
 * The call of `trace` ended: completes it with the status, how it ended and the counters, and
 * publishes `error` (not OK), `asyncStart` and `asyncEnd`.
 */
export function endTrace(
  trace: CallTrace,
  error: GrpcError | null,
  ending: CallEnding,
  sent: CallCounters | undefined,
  received: CallCounters | undefined,
  single = -1,
): void {
  const t = trace as Trace;
  if (t.ending !== undefined) return;
  t.code = error === null ? Code.OK : error.code;
  t.details = error === null ? "" : error.details;
  t.ending = ending;
  const counted = callMetrics(sent, received, single);
  t.messagesSent = counted.messagesSent;
  t.bytesSent = counted.bytesSent;
  t.messagesReceived = counted.messagesReceived;
  t.bytesReceived = counted.bytesReceived;
  t.durationMs = now() - t.startTime;
  const tracing = t.side === "server" ? serverTracing : clientTracing;
  if (error !== null) {
    t.error = error;
    tracing.error.publish(t);
  }
  tracing.asyncStart.publish(t);
  tracing.asyncEnd.publish(t);
}

/** How a server call that ended before its handler finished ended, from its reason. */
export function serverEnding(reason: GrpcError, byShutdown: boolean, connectionLost: boolean): CallEnding {
  if (byShutdown) return "shutdown";
  if (reason.code === Code.DEADLINE_EXCEEDED) return "deadline";
  if (reason.code === Code.CANCELLED) return connectionLost ? "lost" : "cancelled";
  if (reason.code === Code.UNAVAILABLE) return "shutdown"; // a forced shutdown's resets
  return "error";
}

/** How a client call ended, from its outcome; `local`: the caller's side cancelled it. */
export function clientEnding(error: GrpcError | null, local: boolean): CallEnding {
  if (error === null) return "ok";
  if (error.code === Code.DEADLINE_EXCEEDED) return "deadline";
  if (local || error.code === Code.CANCELLED) return "cancelled";
  return "error";
}

/** Whether anybody listens to cancels (check before reading what {@link publishCancel} needs). */
export function cancelWatched(): boolean {
  return cancel.hasSubscribers;
}

/** A cancel ended a call. */
export function publishCancel(
  side: "server" | "client",
  source: TraceSource,
  reason: GrpcError,
  local: boolean,
  ending: CallEnding,
): void {
  if (!cancel.hasSubscribers) return;
  const event: CallCancelEvent = {
    side,
    method: safely(() => source.method),
    peer: safely(() => source.peer),
    code: reason.code,
    details: reason.details,
    local,
    ending,
  };
  cancel.publish(event);
}

/** A shutdown reached a handler. */
export function publishShutdown(source: TraceSource, reason: GrpcError): void {
  if (!shutdown.hasSubscribers) return;
  const event: CallShutdownEvent = {
    method: safely(() => source.method),
    peer: safely(() => source.peer),
    code: reason.code,
    details: reason.details,
  };
  shutdown.publish(event);
}

/** `sendBroadcast`'s client lagged. */
export function publishSlowClient(
  policy: "skip" | "end",
  missed: number,
  totalMissed: number,
  sent: number,
): void {
  if (!slowClient.hasSubscribers) return;
  const event: SlowClientEvent = { policy, missed, totalMissed, sent };
  slowClient.publish(event);
}

/** `read()`, or `"unknown"` if it throws (a call's peer is gone once its connection is). */
function safely(read: () => string): string {
  try {
    return read();
  } catch {
    return "unknown";
  }
}
