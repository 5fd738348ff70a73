/**
 * The fan-out example's client: subscribes to the ticker, takes `count` ticks (after the latest
 * one it gets on joining), and reports what it got. `readDelayMs` makes it read slowly, and
 * `stallMs` makes it stop reading for that long after its first tick: the server then reports the
 * ticks it misses, and the other subscribers are not held back.
 *
 * Not a program of its own: `npm run example:ticker` (examples/ticker/main.ts) runs three of them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { credentials } from "@grpc/grpc-js";
import { serverStreamCall, streamingClientOptions } from "grpc-mpsc/grpc";
import { TickerClient } from "../generated/ticker.js";

/** Options of {@link subscribe}. */
export interface SubscriberOptions {
  /** host:port of the ticker server. */
  target: string;
  /** The subscriber's name. */
  name: string;
  /** How many ticks to take before leaving (cancelling the call). */
  count: number;
  /** A pause after each tick read, in ms (a slow reader). */
  readDelayMs?: number;
  /** A pause after the first tick, in ms (a stalled reader). */
  stallMs?: number;
  /**
   * This connection's HTTP/2 flow-control window in bytes (default 64 KiB): a small one, as on a slow
   * mobile link, makes a stall reach the server after a few dozen ticks instead of a few thousand.
   */
  windowBytes?: number;
}

/** What one subscriber saw. */
export interface SubscriberReport {
  readonly name: string;
  /** The tick it started from (the latest when it joined). */
  readonly joinedAt: number;
  /** Ticks taken. */
  readonly ticks: number;
  /** Ticks the server told it it missed. */
  readonly missed: number;
  /** Whether every tick it took followed the previous one, or the ones it was told it missed. */
  readonly inOrder: boolean;
}

/** Subscribes, takes `count` ticks, cancels, and reports. */
export async function subscribe(options: SubscriberOptions): Promise<SubscriberReport> {
  const client = new TickerClient(options.target, credentials.createInsecure(), {
    ...streamingClientOptions,
    "grpc.use_local_subchannel_pool": 1, // its own connection, as a separate client would have
    ...(options.windowBytes === undefined ? {} : { "grpc-node.flow_control_window": options.windowBytes }),
  });
  const call = serverStreamCall((req, md, opts) => client.subscribe(req, md, opts), { name: options.name });
  let joinedAt = 0;
  let last = 0;
  let ticks = 0;
  let missed = 0;
  let inOrder = true;
  try {
    for await (const update of call.rx) {
      if (update.latest !== undefined) {
        joinedAt = last = update.latest.seq;
      } else if (update.missed !== undefined) {
        missed += update.missed;
        last += update.missed;
      } else if (update.tick !== undefined) {
        if (last !== 0 && update.tick.seq !== last + 1) inOrder = false;
        last = update.tick.seq;
        if (++ticks >= options.count) break; // leaving the loop cancels the call
        if (ticks === 1 && options.stallMs) await sleep(options.stallMs);
        else if (options.readDelayMs) await sleep(options.readDelayMs);
      }
    }
  } finally {
    client.close();
  }
  return { name: options.name, joinedAt, ticks, missed, inOrder };
}
