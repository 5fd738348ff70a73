/**
 * Subscribers for the diagnostics-events suites (test/grpc/events.test.ts, test/h2/events.test.ts):
 * each records what it hears, in order, and pushes its unsubscribe onto `stops`.
 */
import { subscribe, tracingChannel, unsubscribe } from "node:diagnostics_channel";
import {
  type CallCancelEvent,
  type CallShutdownEvent,
  type CallTrace,
  callEvents,
  type SlowClientEvent,
} from "grpc-mpsc/grpc";
import { afterEach, beforeEach } from "vitest";

/** One event of a call's `TracingChannel`, with its context object. */
export interface HeardTrace {
  event: string;
  trace: CallTrace;
}

/** Subscribes to every event of the `TracingChannel` `name`, recording each into `into`. */
export function traceInto(name: string, into: HeardTrace[], stops: (() => void)[]): void {
  const on =
    (event: string) =>
    (trace: unknown): void => {
      into.push({ event, trace: trace as CallTrace });
    };
  const handlers = {
    start: on("start"),
    end: on("end"),
    asyncStart: on("asyncStart"),
    asyncEnd: on("asyncEnd"),
    error: on("error"),
  };
  const tc = tracingChannel(name);
  tc.subscribe(handlers);
  stops.push(() => tc.unsubscribe(handlers));
}

/** Subscribes to the named channel `name`, recording each message into `into`. */
export function listen<T>(name: string, into: T[], stops: (() => void)[]): void {
  const fn = (m: unknown): void => {
    into.push(m as T);
  };
  subscribe(name, fn);
  stops.push(() => unsubscribe(name, fn));
}

/** What a suite heard of the gRPC call events, by kind. */
export interface HeardCalls {
  server: HeardTrace[];
  client: HeardTrace[];
  cancels: CallCancelEvent[];
  shutdowns: CallShutdownEvent[];
  slow: SlowClientEvent[];
}

/**
 * Subscribes to every gRPC call event before each test of the suite and unsubscribes after it;
 * `heard()` is the current test's record.
 */
export function hearCallsPerTest(): () => HeardCalls {
  const stops: (() => void)[] = [];
  let heard: HeardCalls = { server: [], client: [], cancels: [], shutdowns: [], slow: [] };
  beforeEach(() => {
    heard = { server: [], client: [], cancels: [], shutdowns: [], slow: [] };
    traceInto(callEvents.serverCall, heard.server, stops);
    traceInto(callEvents.clientCall, heard.client, stops);
    listen(callEvents.cancel, heard.cancels, stops);
    listen(callEvents.shutdown, heard.shutdowns, stops);
    listen(callEvents.slowClient, heard.slow, stops);
  });
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
  });
  return () => heard;
}

/** Empties every list of `heard` (a test that runs one scenario after another). */
export function forgetHeard(heard: HeardCalls): void {
  for (const list of Object.values(heard) as unknown[][]) list.length = 0;
}
