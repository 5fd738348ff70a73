/**
 * The fan-out example's client: subscribes to the ticker, takes `count` ticks (after the latest
 * one it gets on joining), and reports what it got. `readDelayMs` makes it read slowly, and
 * `stallMs` makes it stop reading for that long after its first tick: the server then reports the
 * ticks it misses, and the other subscribers are not held back.
 *
 * {@link subscribeResuming} is the client that reconnects: when its call fails or it drops its
 * connection, it connects again (to the next server of its list) and sends the last tick it has, so
 * it goes on with the next one: nothing lost, nothing twice, or a gap it is told the size of.
 *
 * Not a program of its own: `npm run example:ticker` (examples/ticker/main.ts) runs three of them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, Metadata } from "@grpc/grpc-js";
import type { Receiver } from "grpc-mpsc";
import {
  type FeedReset,
  feedEpochOf,
  type MetadataReader,
  resumeMetadata,
  serverStreamCall,
  streamingClientOptions,
} from "grpc-mpsc/grpc";
import { connect as connectH2 } from "grpc-mpsc/h2";
import type { Transport } from "../cli.js";
import { TickerClient, TickerService, type TickerUpdate } from "../generated/ticker.js";

/** One subscription's call, on either transport, and how to close its client. */
interface Subscription {
  readonly rx: Receiver<TickerUpdate>;
  readonly headers: Promise<MetadataReader>;
  cancel(): void;
  close(): void;
}

/**
 * Subscribes as `name` on a client of its own (its own connection, as a separate client would have),
 * with `metadata`; `windowBytes` sets the call's HTTP/2 flow-control window.
 */
function openSubscription(
  target: string,
  transport: Transport | undefined,
  name: string,
  metadata: Metadata,
  windowBytes?: number,
): Subscription {
  if (transport === "h2") {
    const client = connectH2(target, windowBytes === undefined ? {} : { initialWindowSize: windowBytes });
    const call = client.serverStreamCall(TickerService.subscribe, { name }, { metadata });
    return { rx: call.rx, headers: call.headers, cancel: call.cancel, close: () => client.close() };
  }
  const client = new TickerClient(target, credentials.createInsecure(), {
    ...streamingClientOptions,
    "grpc.use_local_subchannel_pool": 1,
    ...(windowBytes === undefined ? {} : { "grpc-node.flow_control_window": windowBytes }),
  });
  const call = serverStreamCall((req, _md, opts) => client.subscribe(req, metadata, opts), { name });
  return { rx: call.rx, headers: call.headers, cancel: call.cancel, close: () => client.close() };
}

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
  /** The gRPC transport: grpc-js with the adapters (default), or `grpc-mpsc/h2`. */
  transport?: Transport;
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
  const call = openSubscription(
    options.target,
    options.transport,
    options.name,
    new Metadata(),
    options.windowBytes,
  );
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
    call.close();
  }
  return { name: options.name, joinedAt, ticks, missed, inOrder };
}

/** Options of {@link subscribeResuming}. */
export interface ResumingOptions {
  /** host:port of the servers, tried in turn: after a failure it connects to the next one. */
  targets: readonly string[];
  /** The gRPC transport: grpc-js with the adapters (default), or `grpc-mpsc/h2`. */
  transport?: Transport;
  /** The subscriber's name. */
  name: string;
  /** Stops once it has every tick up to this sequence number, taken or counted missed. */
  untilSeq: number;
  /** Starts from the first tick still held (resumes after tick 0) instead of the latest one. */
  fromStart?: boolean;
  /** Drops its connection after this many ticks on it (a flaky link), then resumes. */
  dropEvery?: number;
  /** The pause before connecting again, in ms (default 50). */
  retryMs?: number;
  /** Gives up (the report says how far it got). */
  signal?: AbortSignal;
  /**
   * Hears that the feed started again (a new epoch: the server restarted, or its Redis stream was
   * reset): the ticks of the old epoch after `lastSeq` are unknown (neither taken nor counted
   * missed), and it goes on as a new subscriber of the new epoch, until `untilSeq` in its numbers.
   */
  onReset?: (reset: FeedReset) => void;
}

/** What a resuming subscriber saw, over all its connections. */
export interface ResumingReport extends SubscriberReport {
  /** The sequence number of the last tick it has (taken, or counted missed). */
  readonly lastSeq: number;
  /** Connections after the first. */
  readonly reconnects: number;
  /** Ticks it got again (at or below one it had): 0 when resume works. */
  readonly duplicates: number;
  /** Times the feed started again under it (see {@link ResumingOptions.onReset}). */
  readonly resets: number;
  /** After the last reset: the tick it started from in the new epoch (its first tick's seq, minus 1). */
  readonly rejoinedAt: number;
}

/** Subscribes, and on every failure or dropped connection resumes after the last tick it has. */
export async function subscribeResuming(options: ResumingOptions): Promise<ResumingReport> {
  let joinedAt = 0;
  let last = 0;
  let started = options.fromStart === true;
  let ticks = 0;
  let missed = 0;
  let duplicates = 0;
  let reconnects = 0;
  let inOrder = true;
  let epoch: string | undefined;
  let resets = 0;
  let rejoinedAt = 0;
  for (let attempt = 0; last < options.untilSeq && !options.signal?.aborted; attempt++) {
    if (attempt > 0) {
      reconnects++;
      await sleep(options.retryMs ?? 50);
    }
    const target = options.targets[attempt % options.targets.length] as string;
    // The first connection is a new subscriber; every later one resumes after the last tick it has.
    const md = started ? resumeMetadata({ lastSeq: last, epoch }) : new Metadata();
    const call = openSubscription(target, options.transport, options.name, md);
    let onThisConnection = 0;
    const abort = (): void => call.cancel();
    options.signal?.addEventListener("abort", abort, { once: true });
    try {
      const now = feedEpochOf(await call.headers);
      if (epoch !== undefined && now !== undefined && now !== epoch) {
        // Its numbers are another feed's: what that feed had after `last` is unknown, never taken
        // for delivered. It starts again as a new subscriber of this epoch.
        options.onReset?.({ previousEpoch: epoch, epoch: now, lastSeq: last });
        resets++;
        last = 0;
        started = false;
      }
      epoch = now;
      for await (const update of call.rx) {
        if (update.latest !== undefined) {
          if (!started) {
            last = update.latest.seq;
            if (resets === 0) joinedAt = last;
            else rejoinedAt = last;
          }
          started = true;
        } else if (update.missed !== undefined) {
          missed += update.missed;
          last += update.missed;
          started = true;
        } else if (update.tick !== undefined) {
          const seq = update.tick.seq;
          if (started && seq <= last) {
            duplicates++;
            continue;
          }
          if (!started) {
            if (resets === 0) joinedAt = seq - 1;
            else rejoinedAt = seq - 1;
          } else if (seq !== last + 1) inOrder = false;
          started = true;
          last = seq;
          ticks++;
          onThisConnection++;
        }
        if (last >= options.untilSeq) break;
        if (options.dropEvery !== undefined && onThisConnection >= options.dropEvery) break;
      }
    } catch {
      // The server went away (killed, restarted, shut down): connect again and resume.
    } finally {
      options.signal?.removeEventListener("abort", abort);
      call.close();
    }
  }
  return {
    name: options.name,
    joinedAt,
    ticks,
    missed,
    inOrder,
    lastSeq: last,
    reconnects,
    duplicates,
    resets,
    rejoinedAt,
  };
}
