/**
 * One source, every connected client: a broadcast forwarded into each call's responses.
 *
 * @module
 */
import { status } from "@grpc/grpc-js";
import { invalid, SendError, type Sender } from "../channel/index.js";
import { type BroadcastReceiver, Lagged } from "../fanout/index.js";
import { publishSlowClient } from "./events.js";
import { statusError } from "./status.js";

/** What a client that fell behind gets, once it lost values (more than the broadcast's capacity behind). */
export type SlowClientPolicy = "skip" | "end";

/** Options of {@link sendBroadcast}. */
export interface SendBroadcastOptions<T, Res> {
  /**
   * A client up to the broadcast's capacity behind loses nothing: its call's HTTP/2 flow control
   * holds it back while the others go on. Further behind, it has lost the oldest values, and:
   * - `"skip"` (the default): it goes on from the oldest value still kept; `onLag` hears how many it
   *   missed, and may tell the client (send it a "you missed N" message through `responses`).
   * - `"end"`: its call ends with `RESOURCE_EXHAUSTED` (the returned promise rejects with that
   *   {@link GrpcError}: let it escape the handler).
   */
  onSlowClient?: SlowClientPolicy;
  /**
   * Told how many values the client missed, each time it lags (under `"skip"`); awaited before going
   * on, but not past the call's end (or `signal`): forwarding then stops, and what `onLag` does after
   * that is its own (a send to the ended call rejects).
   */
  onLag?: (missed: number, lastSeq: number) => void | Promise<void>;
  /**
   * The response for a value (default: the value itself); `seq` is its sequence number in the
   * broadcast: put it in the response for a client that will resume (see {@link resumeBroadcast}).
   */
  map?: (value: T, seq: number) => Res;
  /** Stops forwarding (pass the handler's `ctx.signal`); the call ending stops it too. */
  signal?: AbortSignal;
}

/** What {@link sendBroadcast} did for one client. */
export interface SendBroadcastResult {
  /** Values handed to the client's call. */
  readonly sent: number;
  /** Values it missed by falling behind. */
  readonly missed: number;
  /**
   * Why it stopped: the broadcast ended (or `rx` was closed by someone else: no more values could come
   * through it), the call ended (or `signal` aborted).
   */
  readonly ended: "broadcast" | "call";
}

/**
 * Forwards a broadcast receiver into a call's `responses`, with the client's own backpressure: a
 * slow or stalled client holds back only its own call, never the publisher or the other clients,
 * and costs the server no memory beyond the broadcast's ring (shared by every client) and its own
 * `responseCapacity`. The naive `for (const call of calls) call.write(msg)` either buffers without
 * bound for a slow client or, honouring 'drain', stalls everyone.
 *
 * Resolves when the broadcast ends (every sender closed: the handler then returns, and the call
 * ends OK) or the call ends (the client left, a deadline, a shutdown); the receiver is closed either
 * way. Rejects with `RESOURCE_EXHAUSTED` under `onSlowClient: "end"`.
 *
 * @example
 * ```ts
 * const [ticks] = broadcast<Tick>(1024);
 * server.addService(TickerService, {
 *   subscribe: serveServerStream(async (_req, responses, ctx) => {
 *     await sendBroadcast(ticks.subscribe(), responses, {
 *       signal: ctx.signal,
 *       onLag: (missed) => responses.send({ missed }), // the client learns what it lost
 *     });
 *   }),
 * } satisfies TickerServer);
 * ```
 */
export function sendBroadcast<T, Res = T>(
  rx: BroadcastReceiver<T>,
  responses: Sender<Res>,
  options?: SendBroadcastOptions<T, Res>,
): Promise<SendBroadcastResult> {
  return forward(rx, responses, options, 0);
}

/**
 * {@link sendBroadcast}, skipping the values with a sequence number up to `after` (the client has
 * them: it resumed on a server that is behind the one it came from), and the part of a gap below it.
 *
 * @internal
 */
export async function forward<T, Res>(
  rx: BroadcastReceiver<T>,
  responses: Sender<Res>,
  options: SendBroadcastOptions<T, Res> | undefined,
  after: number,
  history?: BroadcastHistory<T>,
): Promise<SendBroadcastResult> {
  const policy = options?.onSlowClient ?? "skip";
  if (policy !== "skip" && policy !== "end") throw invalid("onSlowClient", '"skip" or "end"', policy);
  const map = options?.map ?? ((value: T, _seq: number) => value as unknown as Res);
  // A wait for the next value (or on `onLag`) must end when the call does or `signal` aborts, or an
  // idle broadcast would hold it. Not `AbortSignal.any`: on Node 20 a long-lived source signal (a
  // server's shutdown signal, passed to every subscriber) keeps every signal made from it.
  const stop = new AbortController();
  const signal = stop.signal;
  const abort = (): void => stop.abort();
  void responses.closed().then(abort);
  const outer = options?.signal;
  if (outer?.aborted) abort();
  else outer?.addEventListener("abort", abort, { once: true });
  let sent = 0;
  let missed = 0;
  let ended: "broadcast" | "call" = "call";
  /** Hands one value to the call; false once the call has ended. */
  const deliver = async (value: T, seq: number): Promise<boolean> => {
    const response = map(value, seq);
    try {
      if (responses.capacity > 0) responses.trySend(response);
      else await responses.send(response);
    } catch (err) {
      if (err instanceof SendError || responses.isClosed) return false; // the call ended
      throw err;
    }
    sent++;
    return true;
  };
  /** Counts and reports `lost` values missing up to `seq`. */
  const lag = async (lost: number, seq: number): Promise<void> => {
    missed += lost;
    publishSlowClient(policy, lost, missed, sent);
    if (policy === "end") {
      throw statusError(
        status.RESOURCE_EXHAUSTED,
        `the client fell behind: ${lost} values of the broadcast were lost before it read them`,
      );
    }
    const told = options?.onLag?.(lost, seq);
    if (told !== undefined) await settledOrAborted(told, signal);
  };
  try {
    for (;;) {
      if (signal.aborted) break;
      // Values already in the ring are taken without a wait: one promise per wait, not per value.
      const now = rx.tryRecv();
      let item: T | Lagged | undefined;
      if (now instanceof Lagged) item = now;
      else if (now.ok) item = now.value;
      else if (now.reason === "closed") item = undefined;
      else {
        try {
          item = await rx.recv({ signal });
        } catch (err) {
          if (signal.aborted) break;
          throw err;
        }
      }
      if (item === undefined) {
        ended = "broadcast";
        break;
      }
      if (item instanceof Lagged) {
        const seq = rx.lastSeq;
        // Of the gap (seq - missed, seq], the client lacks only what is above `after`.
        const lost = Math.min(item.missed, seq - after);
        if (lost <= 0) continue;
        if (history === undefined) await lag(lost, seq);
        // The shared log may still have what the ring no longer holds: send that first, a page at
        // a time (each value waits for the call); only what it lacks too is a gap.
        else if (!(await refill(history, seq - lost, seq + 1, deliver, lag, signal))) break;
        continue;
      }
      const seq = rx.lastSeq;
      if (seq <= after) continue;
      if (!(await deliver(item, seq))) break;
    }
  } finally {
    rx.close();
    outer?.removeEventListener("abort", abort);
    stop.abort();
  }
  return { sent, missed, ended };
}

/**
 * Where a feed keeps what its ring no longer holds (a shared log): up to `count` values with a
 * sequence number above `after` and below `before`, oldest first, each with its number; fewer
 * (or none) when the log has no more of them. Given `epoch`, only values of that epoch: numbers
 * of a log that started again are another feed's. It rejects when it cannot read the log (an empty
 * page means the log has none of them). What `BroadcastSource.history` offers.
 */
export type BroadcastHistory<T> = (
  after: number,
  before: number,
  count: number,
  epoch?: string,
) => Promise<readonly (readonly [seq: number, value: T])[]>;

/** How many values one read of a {@link BroadcastHistory} asks for: the memory a refill holds at most. */
const HISTORY_PAGE = 256;

/**
 * Delivers the values `history` has between `after` and `before` (both excluded), in pages, in
 * order, and a gap (`lag(count, uptoSeq)`) before each run of them it lacks; false if the call
 * ended first.
 */
async function refill<T>(
  history: BroadcastHistory<T>,
  after: number,
  before: number,
  deliver: (value: T, seq: number) => Promise<boolean>,
  lag: (lost: number, seq: number) => Promise<void>,
  signal: AbortSignal,
): Promise<boolean> {
  let lo = after;
  while (lo < before - 1 && !signal.aborted) {
    const page = await history(lo, before, HISTORY_PAGE);
    if (page.length === 0) break;
    for (const [seq, value] of page) {
      if (seq <= lo || seq >= before) continue; // a log must not go backwards: never send twice
      if (seq > lo + 1) await lag(seq - lo - 1, seq - 1);
      if (signal.aborted || !(await deliver(value, seq))) return false;
      lo = seq;
    }
  }
  if (signal.aborted) return false;
  if (lo < before - 1) await lag(before - 1 - lo, before - 1);
  return !signal.aborted;
}

/**
 * Waits for `promise`, or only until `signal` aborts (the loop then sees it and stops): a slow
 * `onLag` must not hold a call that ended. Its rejection rejects, unless the call ended first.
 */
function settledOrAborted(promise: void | Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(promise).then(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) resolve();
        else reject(error);
      },
    );
  });
}
