/**
 * Resume over gRPC: a client that reconnects sends the sequence number of the last value it has in
 * request metadata, and the server goes on from the next one, on the same process or on another one
 * fed from the same shared log (`grpc-mpsc/redis`). The protocol is in docs/fanout-resume.md.
 *
 * @module
 */
import { Metadata, status } from "@grpc/grpc-js";
import type { Sender } from "../channel/index.js";
import type { BroadcastReceiver, SubscribeOptions } from "../fanout/index.js";
import {
  type BroadcastHistory,
  forward,
  type SendBroadcastOptions,
  type SendBroadcastResult,
} from "./fanout.js";
import { statusError } from "./status.js";

/**
 * The request metadata key that carries the last sequence number a client has: ASCII decimal digits,
 * an integer from 0 (nothing yet) up to 2^53 - 1, one value. Not `grpc-...`: the gRPC protocol
 * reserves that prefix for itself.
 */
export const RESUME_FROM_METADATA_KEY = "mpsc-resume-from";

/**
 * The request metadata key that carries the epoch of the feed the client's `mpsc-resume-from` belongs
 * to: the token it read from {@link FEED_EPOCH_METADATA_KEY} on its last call, one value of 1 to 64
 * letters, digits, `-` or `_`.
 */
export const RESUME_EPOCH_METADATA_KEY = "mpsc-resume-epoch";

/**
 * The response header (initial metadata) key under which {@link resumeBroadcast} sends the feed's
 * epoch: the client keeps it with its last sequence number and sends it back under
 * {@link RESUME_EPOCH_METADATA_KEY}. Read it with {@link feedEpochOf}.
 */
export const FEED_EPOCH_METADATA_KEY = "mpsc-feed-epoch";

/**
 * What a feed must offer to be resumed from: a `BroadcastSender` (`grpc-mpsc`), or a Redis
 * feed (`grpc-mpsc/redis`).
 */
export interface BroadcastSource<T> {
  /** A receiver from the `replay` latest values, or from sequence number `from`. */
  subscribe(options?: SubscribeOptions): BroadcastReceiver<T>;
  /** The sequence number the next value will have. */
  readonly nextSeq: number;
  /**
   * The feed's identity now (a random token made when it started). Without it, a client's epoch is
   * not checked: a sequence number from a feed that started again is taken for one of this feed's.
   */
  readonly epoch?: string;
  /**
   * Resolves once `epoch` is the log's own: a feed opened on an empty log has only a provisional one
   * until it reads the log's first entry. {@link resumeBroadcast} waits for it (or the call's end)
   * before it reads or sends the epoch. Without it, `epoch` is taken as known.
   */
  readonly epochKnown?: Promise<void>;
  /**
   * Values the feed still has beyond its ring (a shared log): up to `count` values with a sequence
   * number above `after` and below `before`, oldest first, each with its number. With it,
   * {@link resumeBroadcast} sends a client what the ring lost but the log has, before the ring.
   */
  readonly history?: BroadcastHistory<T>;
  /**
   * Brings `epoch` up to the log's now (a shared log: this process may not have read a reset yet);
   * it must not reject. {@link resumeBroadcast} calls it, and waits for it (or the call's end),
   * when a client comes with another epoch than the feed's, before it tells the client the epoch.
   */
  refreshEpoch?(): Promise<void>;
}

/** Where a resuming client is: its last sequence number, and the epoch of the feed it is of. */
export interface ResumePoint {
  /** The sequence number of the last value the client has (0 for none). */
  readonly lastSeq: number;
  /** The feed's epoch, from {@link feedEpochOf} on the last call; `undefined`: not checked. */
  readonly epoch?: string | undefined;
}

/** What {@link ResumeBroadcastOptions.onReset} is told. */
export interface FeedReset {
  /** The epoch the client sent. */
  readonly previousEpoch: string;
  /** The feed's epoch now. */
  readonly epoch: string;
  /** The last sequence number the client had in the previous epoch. */
  readonly lastSeq: number;
}

/** Options of {@link resumeBroadcast}: those of `sendBroadcast`, and the server's view of a reset. */
export interface ResumeBroadcastOptions<T, Res> extends SendBroadcastOptions<T, Res> {
  /**
   * Hears that a client came with another epoch than the feed's (it is then sent the feed's values
   * from the epoch's first number, those gone counted through `onLag`).
   */
  onReset?: (reset: FeedReset) => void;
}

/**
 * Metadata as the resume helpers read it: a grpc-js `Metadata`, or the h2 transport's `WireMetadata`
 * (`grpc-mpsc/h2`), which has the same `get`.
 */
export interface MetadataReader {
  /** The values under `key`. */
  get(key: string): (string | Buffer)[];
}

/**
 * What {@link resumeBroadcast} needs of a handler's context: the request metadata, and the headers it
 * sends. The `ctx` of the grpc-js wrappers and of an h2 handler both are one.
 */
export interface ResumeContext {
  /** The request metadata. */
  readonly metadata: MetadataReader;
  /** Sends the response headers (the handler's `ctx.sendMetadata`): here, a grpc-js `Metadata`. */
  sendMetadata(metadata: Metadata): void;
}

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The metadata a resuming client sends: the sequence number of the last value it has (0 for none),
 * under {@link RESUME_FROM_METADATA_KEY}, and the feed's epoch under
 * {@link RESUME_EPOCH_METADATA_KEY} when given; added to `metadata` if given. `resumeMetadata(lastSeq)`
 * is `resumeMetadata({ lastSeq })`.
 *
 * @throws RangeError naming `lastSeq` unless it is an integer from 0 up, or `epoch` unless it is 1 to
 * 64 letters, digits, `-` or `_`.
 *
 * @example
 * ```ts
 * const call = client.subscribe(request, resumeMetadata({ lastSeq, epoch }));
 * ```
 */
export function resumeMetadata(point: number | ResumePoint, metadata: Metadata = new Metadata()): Metadata {
  const { lastSeq, epoch } = typeof point === "number" ? { lastSeq: point, epoch: undefined } : point;
  if (!Number.isSafeInteger(lastSeq) || lastSeq < 0) {
    throw new RangeError(`Expected \`lastSeq\` to be an integer from 0 up, got ${String(lastSeq)}`);
  }
  if (epoch !== undefined && (typeof epoch !== "string" || !EPOCH.test(epoch))) {
    throw new RangeError(
      `Expected \`epoch\` to be 1 to 64 letters, digits, - or _, got ${JSON.stringify(String(epoch))}`,
    );
  }
  metadata.set(RESUME_FROM_METADATA_KEY, String(lastSeq));
  if (epoch !== undefined) metadata.set(RESUME_EPOCH_METADATA_KEY, epoch);
  return metadata;
}

/**
 * The feed's epoch in a call's response headers ({@link FEED_EPOCH_METADATA_KEY}), or `undefined`
 * when the server sent none (it does not check epochs).
 *
 * @example
 * ```ts
 * const call = serverStreamCall((r, _m, o) => client.subscribe(r, resumeMetadata({ lastSeq, epoch }), o), req);
 * const now = feedEpochOf(await call.headers);
 * if (epoch !== undefined && now !== undefined && now !== epoch) lastSeq = 0; // the feed started again
 * ```
 */
export function feedEpochOf(headers: MetadataReader): string | undefined {
  const [raw] = headers.get(FEED_EPOCH_METADATA_KEY);
  return typeof raw === "string" && EPOCH.test(raw) ? raw : undefined;
}

/** The one value under `key`, or `undefined` without one; INVALID_ARGUMENT unless it matches `form`. */
function oneValue(metadata: MetadataReader, key: string, form: RegExp, expected: string): string | undefined {
  const values = metadata.get(key);
  if (values.length === 0) return undefined;
  const raw = values.length === 1 ? values[0] : undefined;
  if (typeof raw === "string" && form.test(raw)) return raw;
  const got = values.map((v) => (typeof v === "string" ? JSON.stringify(v) : "<binary>")).join(", ");
  throw statusError(status.INVALID_ARGUMENT, `Expected \`${key}\` metadata to be ${expected}, got ${got}`);
}

/**
 * The last sequence number the client says it has, read from its request metadata: `undefined`
 * when it sent none (a new client).
 *
 * @throws {@link GrpcError} `INVALID_ARGUMENT` for anything but one decimal integer from 0 to 2^53 - 1
 * (let it escape the handler: the client gets the status and its details).
 */
export function resumeFromMetadata(metadata: MetadataReader): number | undefined {
  const expected = `one integer from 0 to ${Number.MAX_SAFE_INTEGER}`;
  const text = oneValue(metadata, RESUME_FROM_METADATA_KEY, /^[0-9]{1,16}$/, expected);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw statusError(
      status.INVALID_ARGUMENT,
      `Expected \`${RESUME_FROM_METADATA_KEY}\` metadata to be ${expected}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

/**
 * Where the client says it is: its last sequence number ({@link RESUME_FROM_METADATA_KEY}) and the
 * epoch of the feed it belongs to ({@link RESUME_EPOCH_METADATA_KEY}, `undefined` if it sent none);
 * `undefined` when it sent no sequence number (a new client).
 *
 * @throws {@link GrpcError} `INVALID_ARGUMENT` for a malformed value under either key, or an epoch
 * without a sequence number.
 */
export function resumePointFromMetadata(metadata: MetadataReader): ResumePoint | undefined {
  const lastSeq = resumeFromMetadata(metadata);
  const epoch = oneValue(metadata, RESUME_EPOCH_METADATA_KEY, EPOCH, "1 to 64 letters, digits, - or _");
  if (lastSeq === undefined) {
    if (epoch === undefined) return undefined;
    throw statusError(
      status.INVALID_ARGUMENT,
      `\`${RESUME_EPOCH_METADATA_KEY}\` metadata came without \`${RESUME_FROM_METADATA_KEY}\``,
    );
  }
  return { lastSeq, epoch };
}

/**
 * {@link sendBroadcast} for a client that may be resuming: reads where it is from its metadata
 * ({@link resumePointFromMetadata}) and subscribes from the value after its last one, so that the
 * client gets every value after the last it has, or (through `onLag`) exactly how many are gone;
 * without the key it subscribes as a new client (after the feed's `replay` latest values).
 *
 * **Epochs.** Given the handler's `ctx` (not only its metadata), it sends the feed's epoch in the
 * response headers ({@link FEED_EPOCH_METADATA_KEY}), once the source's `epochKnown` resolved (a feed
 * on an empty log knows its epoch only from the log's first entry). A client whose epoch is not the feed's holds a
 * sequence number of a feed that started again: it is not resumed from it but from the new epoch's
 * first number (every value of the epoch came after its last one: what is still held is sent, what is
 * gone counted through `onLag`), and `onReset` hears it; the client sees the new epoch in the headers
 * and knows that what came after its last value in the old epoch is unknown. If the feed's epoch changes during the call (a shared log
 * reset under it), the call ends with `ABORTED` (the promise rejects with that {@link GrpcError}:
 * let it escape the handler): the client reconnects and learns of the reset from the headers.
 *
 * **Refill.** When the ring lacks values that the source's `history` still has (a Redis stream
 * beyond the local ring), those are sent first, a page at a time, of the epoch the call started
 * with only (a reset during the refill ends the call with `ABORTED` too); `onLag` hears only of
 * values gone from both. If `history` rejects (the feed closed, its log unreachable), the call ends
 * with `UNAVAILABLE`, nothing counted as lost: the client resumes elsewhere from its last value.
 *
 * A client may come from a server that is ahead of this one (two processes fed by one shared log
 * never read it at the same instant): this one then starts at its next value and skips, unsent,
 * those the client already has. Put the sequence number (`map`'s second argument) in each response,
 * so that the client knows what to send on its next connection.
 *
 * @throws {@link GrpcError} `INVALID_ARGUMENT` (the promise rejects) for malformed metadata, before
 * anything is subscribed or sent; `ABORTED` when the feed's epoch changed during the call;
 * `UNAVAILABLE` when its `history` rejected during a refill.
 *
 * @example
 * ```ts
 * subscribe: serveServerStream(async (_req, responses, ctx) => {
 *   await resumeBroadcast(feed, ctx, responses, {
 *     signal: ctx.signal,
 *     map: (tick, seq) => ({ tick: { ...tick, seq } }),
 *     onLag: (missed) => responses.send({ missed }),
 *   });
 * }),
 * ```
 */
export async function resumeBroadcast<T, Res = T>(
  source: BroadcastSource<T>,
  call: MetadataReader | ResumeContext,
  responses: Sender<Res>,
  options?: ResumeBroadcastOptions<T, Res>,
): Promise<SendBroadcastResult> {
  // A context has sendMetadata; bare metadata (of either transport, or another grpc-js copy) has not.
  const ctx = "sendMetadata" in call ? call : undefined;
  const metadata = ctx === undefined ? (call as MetadataReader) : ctx.metadata;
  let point = resumePointFromMetadata(metadata);
  // A feed on an empty log knows no epoch yet: telling the client its provisional one would make its
  // next resume look like a reset. Nothing can be sent before the first entry anyway.
  if (
    source.epochKnown !== undefined &&
    !(await settledOrEnded(source.epochKnown, responses, options?.signal))
  )
    return { sent: 0, missed: 0, ended: "call" };
  // A client from a process that saw a reset of a shared log first: this one catches up, or it
  // would start the client again in the epoch the client left, on the old stream's values.
  if (
    point?.epoch !== undefined &&
    source.epoch !== undefined &&
    point.epoch !== source.epoch &&
    source.refreshEpoch !== undefined &&
    !(await settledOrEnded(source.refreshEpoch(), responses, options?.signal))
  )
    return { sent: 0, missed: 0, ended: "call" };
  const epoch = source.epoch;
  if (epoch !== undefined && ctx !== undefined) {
    const headers = new Metadata();
    headers.set(FEED_EPOCH_METADATA_KEY, epoch);
    ctx.sendMetadata(headers);
  }
  if (point?.epoch !== undefined && epoch !== undefined && point.epoch !== epoch) {
    options?.onReset?.({ previousEpoch: point.epoch, epoch, lastSeq: point.lastSeq });
    // Its numbers are another feed's, and every value of this epoch came after its last one: it
    // resumes from the epoch's first number, so that what is gone of it is counted (onLag), not
    // skipped as a new subscriber's would be.
    point = { lastSeq: 0, epoch };
  }
  const history = historyOf(source, epoch);
  let result: SendBroadcastResult;
  if (point === undefined) result = await forward(source.subscribe(), responses, options, 0, history);
  else {
    const rx = source.subscribe({ from: Math.min(point.lastSeq + 1, source.nextSeq) });
    result = await forward(rx, responses, options, point.lastSeq, history);
  }
  // The feed ended this call's receiver because it was reset: ending OK would tell the client
  // "the feed is over", and its next resume would not learn that its numbers are gone.
  if (epoch !== undefined && source.epoch !== epoch && result.ended === "broadcast")
    throw resetDuring(source, epoch);
  return result;
}

/** Waits for `known`: true once it resolved, false if the call ended (or `signal` aborted) first. */
function settledOrEnded(
  known: Promise<void>,
  responses: Sender<unknown>,
  signal?: AbortSignal,
): Promise<boolean> {
  if (signal?.aborted || responses.isClosed) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const end = (): void => resolve(false);
    signal?.addEventListener("abort", end, { once: true });
    void responses.closed().then(end);
    void known.then(() => {
      signal?.removeEventListener("abort", end);
      resolve(!signal?.aborted && !responses.isClosed);
    });
  });
}

/** The `ABORTED` that ends a call whose feed was reset under it (from epoch `epoch`). */
function resetDuring(source: BroadcastSource<unknown>, epoch: string): Error {
  return statusError(
    status.ABORTED,
    `the feed was reset during the call (epoch ${epoch} is now ${String(source.epoch)}): reconnect to go on from its new epoch`,
  );
}

/**
 * The source's history, of the epoch the call started with only: a page read while the feed was
 * reset ends the call as the reset does, for its numbers are the new epoch's. A log that cannot be
 * read (the feed closed, Redis unreachable) ends the call with `UNAVAILABLE`: counting what it holds
 * as lost would make the client skip values another server can still send it.
 */
function historyOf<T>(
  source: BroadcastSource<T>,
  epoch: string | undefined,
): BroadcastHistory<T> | undefined {
  const history = source.history;
  if (history === undefined) return undefined;
  return async (after, before, count) => {
    let page: Awaited<ReturnType<BroadcastHistory<T>>>;
    try {
      page = await history.call(source, after, before, count, epoch);
    } catch (error) {
      if (epoch !== undefined && source.epoch !== epoch) throw resetDuring(source, epoch);
      throw statusError(
        status.UNAVAILABLE,
        "the feed's log could not be read to refill the call: resume elsewhere from the last value received",
        error,
      );
    }
    // The feed may have been reset while the page was read: its values may be of either epoch.
    if (epoch !== undefined && source.epoch !== epoch) throw resetDuring(source, epoch);
    return page;
  };
}
