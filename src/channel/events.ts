/**
 * The channel core's diagnostics events: what each publishes, and the one place that publishes it.
 * Every publisher checks `hasSubscribers` first, so with nobody listening no payload, closure or
 * promise is made (docs/observability.md lists the events).
 *
 * @internal
 */
import { diagnosticsChannel, now } from "./diagnostics.js";
import { SendError } from "./errors.js";

/** The names of the channel core's and fan-out's `node:diagnostics_channel` channels. */
export const channelEvents = Object.freeze({
  /** A `send` or `reserve` that had to wait for a slot, once it is over: {@link SendWaitEvent}. */
  sendWait: "grpc-mpsc:channel:send-wait",
  /** A value an overflow policy dropped: {@link DropEvent}. */
  drop: "grpc-mpsc:channel:drop",
  /** A broadcast receiver that fell behind and lost values: {@link LagEvent}. */
  lag: "grpc-mpsc:broadcast:lag",
});

/** The payload of `grpc-mpsc:channel:send-wait`. */
export interface SendWaitEvent {
  /** What waited: a `send` (or a gRPC call's read pump), or a `reserve` / `reserveMany`. */
  readonly op: "send" | "reserve";
  /** How the wait ended: the value went in (or the slot was granted), the channel refused it (closed), or its signal aborted. */
  readonly outcome: "sent" | "refused" | "aborted";
  /** How long it waited, in milliseconds. */
  readonly waitedMs: number;
  /** The channel's capacity. */
  readonly maxCapacity: number;
}

/** The payload of `grpc-mpsc:channel:drop`. */
export interface DropEvent {
  /** The policy that dropped it. */
  readonly policy: "drop-oldest" | "drop-newest";
  /** The value dropped. */
  readonly value: unknown;
  /** Values this channel dropped so far, this one included. */
  readonly dropped: number;
  /** The channel's capacity. */
  readonly maxCapacity: number;
}

/** The payload of `grpc-mpsc:broadcast:lag`. */
export interface LagEvent {
  /** Values this receiver missed this time (the `Lagged`'s `missed`). */
  readonly missed: number;
  /** Values this receiver missed so far, these included. */
  readonly totalMissed: number;
  /** The broadcast's capacity. */
  readonly capacity: number;
}

const sendWait = diagnosticsChannel(channelEvents.sendWait);
const drop = diagnosticsChannel(channelEvents.drop);
const lag = diagnosticsChannel(channelEvents.lag);

/** What {@link timeWait} needs of a parked waiter: how its owner settles it (resolved with an `R`). */
interface Settled<R> {
  resolve: (value: R) => void;
  reject: (reason: unknown) => void;
}

/**
 * Times the parked wait of `waiter` (just parked: its `resolve` and `reject` are set) if anybody
 * listens: published a microtask after the channel settles it. It wraps how the waiter is settled
 * rather than subscribing to its promise, so the caller's promise is left as it was: a rejection the
 * caller never handles still surfaces as unhandled (or, on a gRPC call, is still reported as
 * unobserved) whether or not somebody subscribed. Costs one property read when nobody listens.
 */
export function timeWait<R>(waiter: Settled<R>, op: "send" | "reserve", maxCapacity: number): void {
  if (!sendWait.hasSubscribers) return;
  const since = now();
  const done = (outcome: SendWaitEvent["outcome"]): void => {
    const waitedMs = now() - since;
    queueMicrotask(() => {
      if (!sendWait.hasSubscribers) return;
      const event: SendWaitEvent = { op, outcome, waitedMs, maxCapacity };
      sendWait.publish(event);
    });
  };
  const { resolve, reject } = waiter;
  waiter.resolve = (value) => {
    resolve(value);
    done("sent");
  };
  waiter.reject = (reason) => {
    reject(reason);
    done(reason instanceof SendError ? "refused" : "aborted");
  };
}

/** An overflow policy dropped `value`. */
export function publishDrop(
  policy: DropEvent["policy"],
  value: unknown,
  dropped: number,
  maxCapacity: number,
): void {
  if (!drop.hasSubscribers) return;
  const event: DropEvent = { policy, value, dropped, maxCapacity };
  drop.publish(event);
}

/** A broadcast receiver lagged. */
export function publishLag(missed: number, totalMissed: number, capacity: number): void {
  if (!lag.hasSubscribers) return;
  const event: LagEvent = { missed, totalMissed, capacity };
  lag.publish(event);
}
