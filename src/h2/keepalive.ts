/**
 * Keepalive on either side of an h2 connection: a PING every `timeMs`, and the connection destroyed
 * when one is not acknowledged within `timeoutMs` (a peer that vanished without a FIN or RST: a
 * pulled cable, a NAT that dropped the mapping, a frozen process), so that every call on it ends
 * instead of waiting forever. And the server's enforcement of how often a client may ping (gRPC's
 * keepalive policy, as grpc-go and the C core enforce it): more than `maxPingStrikes` pings too soon
 * and the client gets GOAWAY `ENHANCE_YOUR_CALM` with debug data `too_many_pings`.
 *
 * @internal
 */
import { constants, type Http2Session } from "node:http2";
import { integerFrom, invalidType, positiveInteger } from "../channel/index.js";
import { countOpen, type WatchedStream } from "./stream-call.js";

/** Keepalive pings of a client ({@link H2ClientOptions.keepalive}). */
export interface ClientKeepalive {
  /** Sends a PING every this many ms. */
  timeMs: number;
  /** Destroys the connection (its calls end `UNAVAILABLE`) when a PING is not acknowledged within this many ms (default 20000). */
  timeoutMs?: number;
  /** Pings also while no call is open (default false: an idle connection is left alone, as gRPC's `keepalive_permit_without_calls`). */
  withoutCalls?: boolean;
}

/** Keepalive of a server ({@link H2ServerOptions.keepalive}): its own pings and its policy for the client's. */
export interface ServerKeepalive {
  /** Sends each client a PING every this many ms (default: none). */
  timeMs?: number;
  /** Destroys a connection whose PING is not acknowledged within this many ms (default 20000); its calls' `ctx.signal` aborts `CANCELLED`. */
  timeoutMs?: number;
  /** The least time between a client's PINGs while it has calls open, in ms (default 300000, gRPC's 5 minutes). */
  minPingIntervalMs?: number;
  /** Whether a client may ping while it has no call open (default false: such a PING counts as too soon unless two hours apart). */
  permitWithoutCalls?: boolean;
  /** How many pings too soon are forgiven before GOAWAY `too_many_pings` (default 2). A new call resets the count. */
  maxPingStrikes?: number;
}

/** gRPC's wait for a PING without calls when they are not permitted: two hours. */
const WITHOUT_CALLS_MS = 2 * 60 * 60 * 1000;
const DEFAULT_TIMEOUT_MS = 20_000;

/** A validated {@link ClientKeepalive}. */
export interface PingPlan {
  readonly timeMs: number;
  readonly timeoutMs: number;
  readonly withoutCalls: boolean;
}

/** Checks `keepalive` (the option named `name`). */
export function clientKeepalive(keepalive: ClientKeepalive | undefined, name: string): PingPlan | undefined {
  if (keepalive === undefined) return undefined;
  if (typeof keepalive !== "object" || keepalive === null) throw invalidType(name, "an object", keepalive);
  return {
    timeMs: positiveInteger(keepalive.timeMs, `${name}.timeMs`, 2 ** 31 - 1),
    timeoutMs: timeoutOption(keepalive.timeoutMs, `${name}.timeoutMs`),
    withoutCalls: booleanOption(keepalive.withoutCalls, `${name}.withoutCalls`),
  };
}

/** A validated {@link ServerKeepalive}. */
export interface ServerPolicy {
  readonly ping: PingPlan | undefined;
  readonly minPingIntervalMs: number;
  readonly permitWithoutCalls: boolean;
  readonly maxPingStrikes: number;
}

/** Checks `keepalive` (the option named `name`). */
export function serverKeepalive(keepalive: ServerKeepalive | undefined, name: string): ServerPolicy {
  if (keepalive !== undefined && (typeof keepalive !== "object" || keepalive === null)) {
    throw invalidType(name, "an object", keepalive);
  }
  const timeMs = keepalive?.timeMs;
  return {
    ping:
      timeMs === undefined
        ? undefined
        : {
            timeMs: positiveInteger(timeMs, `${name}.timeMs`, 2 ** 31 - 1),
            timeoutMs: timeoutOption(keepalive?.timeoutMs, `${name}.timeoutMs`),
            withoutCalls: true,
          },
    minPingIntervalMs:
      keepalive?.minPingIntervalMs === undefined
        ? 300_000
        : integerFrom(keepalive.minPingIntervalMs, `${name}.minPingIntervalMs`, 0),
    permitWithoutCalls: booleanOption(keepalive?.permitWithoutCalls, `${name}.permitWithoutCalls`),
    maxPingStrikes:
      keepalive?.maxPingStrikes === undefined
        ? 2
        : integerFrom(keepalive.maxPingStrikes, `${name}.maxPingStrikes`, 0),
  };
}

/** How many calls are open on each connection, as keepalive and the ping policy ask. */
export class OpenCalls {
  count = 0;

  /** Counts `stream` until it closes. */
  opened(stream: WatchedStream): void {
    countOpen(stream, this);
  }
}

/**
 * Pings `session` every `plan.timeMs` (while it has calls open, or always with `withoutCalls`) and
 * destroys it with `onTimeout()`'s error when a ping is not acknowledged in time. Stops when the
 * session closes. Timers are unref'd: keepalive never holds a process open.
 */
export function keepAlive(
  session: Http2Session,
  plan: PingPlan,
  calls: OpenCalls,
  onTimeout: (timeoutMs: number) => Error,
): void {
  let waiting: NodeJS.Timeout | undefined;
  const tick = setInterval(() => {
    if (waiting !== undefined || session.destroyed || session.closed) return;
    if (!plan.withoutCalls && calls.count === 0) return;
    let sent = false;
    try {
      sent = session.ping(() => {
        if (waiting !== undefined) clearTimeout(waiting);
        waiting = undefined;
      });
    } catch {
      return; // the session is going away: its 'close' stops this
    }
    if (!sent) return;
    waiting = setTimeout(() => session.destroy(onTimeout(plan.timeoutMs)), plan.timeoutMs);
    waiting.unref();
  }, plan.timeMs);
  tick.unref();
  session.once("close", () => {
    clearInterval(tick);
    if (waiting !== undefined) clearTimeout(waiting);
  });
}

/** A server's record of one client's pings, for {@link ServerPolicy}. */
export class PingStrikes {
  #lastAt: number | undefined;
  #strikes = 0;

  /** A call was opened: past pings are forgiven (as grpc-go forgives them when it sends data). */
  forgive(): void {
    this.#strikes = 0;
    this.#lastAt = undefined;
  }

  /** A PING came: whether the client has now pinged too often and must go away. */
  ping(policy: ServerPolicy, openCalls: number, now = Date.now()): boolean {
    const last = this.#lastAt;
    this.#lastAt = now;
    if (last === undefined) return false;
    const least = openCalls === 0 && !policy.permitWithoutCalls ? WITHOUT_CALLS_MS : policy.minPingIntervalMs;
    if (now - last < least) this.#strikes++;
    return this.#strikes > policy.maxPingStrikes;
  }
}

/** Tells the client it pinged too often (GOAWAY ENHANCE_YOUR_CALM, `too_many_pings`), then closes. */
export function tooManyPings(session: Http2Session): void {
  if (session.destroyed) return;
  session.goaway(
    constants.NGHTTP2_ENHANCE_YOUR_CALM,
    session.state.lastProcStreamID ?? 0,
    Buffer.from("too_many_pings"),
  );
  // The GOAWAY is queued; give it a moment to reach the wire before the connection goes.
  setTimeout(() => session.destroy(), 100).unref();
}

function timeoutOption(value: number | undefined, name: string): number {
  return value === undefined ? DEFAULT_TIMEOUT_MS : positiveInteger(value, name, 2 ** 31 - 1);
}

function booleanOption(value: boolean | undefined, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw invalidType(name, "a boolean", value);
  return value;
}
