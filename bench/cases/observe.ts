/**
 * The cost of the diagnostics events: the channel case (grpc-mpsc, 1 producer, capacity 4: it parks
 * on about every other send) and the gRPC echo, each run by a worker that subscribed a no-op handler
 * to every grpc-mpsc diagnostics channel and by one that subscribed nothing. The subscriber does no
 * work, so the difference is what the library pays to build and publish the events.
 */
import { subscribe, tracingChannel } from "node:diagnostics_channel";
import { channelEvents } from "grpc-mpsc";
import { type ChannelParams, measureChannel } from "./channel.js";

/** The two workers compared. */
export const observeImpls = ["no subscriber", "subscribed"] as const;

/** What one configuration runs: the channel case with these parameters, or an echo of `n` messages. */
export type ObserveParams =
  | { readonly kind: "channel"; readonly channel: ChannelParams }
  | { readonly kind: "echo"; readonly n: number };

let subscribed = false;
const noop = (): void => {};

/** Subscribes no-op handlers to every event of grpc-mpsc (its gRPC ones too, for the echo). */
async function subscribeAll(withCalls: boolean): Promise<void> {
  if (subscribed) return;
  subscribed = true;
  for (const name of Object.values(channelEvents)) subscribe(name, noop);
  if (!withCalls) return;
  const { callEvents } = await import("grpc-mpsc/grpc");
  const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
  tracingChannel(callEvents.serverCall).subscribe(handlers);
  tracingChannel(callEvents.clientCall).subscribe(handlers);
  for (const name of [callEvents.cancel, callEvents.shutdown, callEvents.slowClient]) subscribe(name, noop);
}

/** One repetition (messages per second), or with `warm` its warm-up. */
export async function measureObserve(impl: string, params: ObserveParams, warm: boolean): Promise<number> {
  if (impl === "subscribed") await subscribeAll(params.kind === "echo");
  else if (impl !== "no subscriber") throw new Error(`unknown observability case ${impl}`);
  if (params.kind === "channel") return measureChannel("grpc-mpsc", params.channel, warm);
  const { echo } = await import("./grpc.js");
  return echo("grpc-mpsc", warm ? Math.max(1000, Math.floor(params.n / 4)) : params.n);
}
