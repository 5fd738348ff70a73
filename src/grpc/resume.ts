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
import { forward, type SendBroadcastOptions, type SendBroadcastResult } from "./fanout.js";
import { statusError } from "./status.js";

/**
 * The request metadata key that carries the last sequence number a client has: ASCII decimal digits,
 * an integer from 0 (nothing yet) up to 2^53 - 1, one value. Not `grpc-...`: the gRPC protocol
 * reserves that prefix for itself.
 */
export const RESUME_FROM_METADATA_KEY = "mpsc-resume-from";

/**
 * What a feed must offer to be resumed from: a `BroadcastSender` (`grpc-mpsc`), or a Redis
 * feed (`grpc-mpsc/redis`).
 */
export interface BroadcastSource<T> {
  /** A receiver from the `replay` latest values, or from sequence number `from`. */
  subscribe(options?: SubscribeOptions): BroadcastReceiver<T>;
  /** The sequence number the next value will have. */
  readonly nextSeq: number;
}

/**
 * The metadata a resuming client sends: `lastSeq`, the sequence number of the last value it has (0
 * for none), under {@link RESUME_FROM_METADATA_KEY}; added to `metadata` if given.
 *
 * @throws RangeError naming `lastSeq` unless it is an integer from 0 up.
 *
 * @example
 * ```ts
 * const call = client.subscribe(request, resumeMetadata(lastSeq));
 * ```
 */
export function resumeMetadata(lastSeq: number, metadata: Metadata = new Metadata()): Metadata {
  if (!Number.isSafeInteger(lastSeq) || lastSeq < 0) {
    throw new RangeError(`Expected \`lastSeq\` to be an integer from 0 up, got ${String(lastSeq)}`);
  }
  metadata.set(RESUME_FROM_METADATA_KEY, String(lastSeq));
  return metadata;
}

/**
 * The last sequence number the client says it has, read from its request metadata: `undefined`
 * when it sent none (a new client).
 *
 * @throws {@link GrpcError} `INVALID_ARGUMENT` for anything but one decimal integer from 0 to 2^53 - 1
 * (let it escape the handler: the client gets the status and its details).
 */
export function resumeFromMetadata(metadata: Metadata): number | undefined {
  const values = metadata.get(RESUME_FROM_METADATA_KEY);
  if (values.length === 0) return undefined;
  const raw = values.length === 1 ? values[0] : undefined;
  const text = typeof raw === "string" ? raw : undefined;
  const n = text !== undefined && /^[0-9]{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    const got = values.map((v) => (typeof v === "string" ? JSON.stringify(v) : "<binary>")).join(", ");
    throw statusError(
      status.INVALID_ARGUMENT,
      `Expected \`${RESUME_FROM_METADATA_KEY}\` metadata to be one integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${got}`,
    );
  }
  return n;
}

/**
 * {@link sendBroadcast} for a client that may be resuming: reads its last sequence number from
 * `metadata` ({@link RESUME_FROM_METADATA_KEY}) and subscribes from the next one, so that the client
 * gets every value after the last it has, or (through `onLag`) exactly how many are gone; without
 * the key it subscribes as a new client (after the feed's `replay` latest values).
 *
 * A client may come from a server that is ahead of this one (two processes fed by one shared log
 * never read it at the same instant): this one then starts at its next value and skips, unsent,
 * those the client already has. Put the sequence number (`map`'s second argument) in each response,
 * so that the client knows what to send on its next connection.
 *
 * @throws {@link GrpcError} `INVALID_ARGUMENT` (the promise rejects) for a malformed key, before
 * anything is subscribed or sent.
 *
 * @example
 * ```ts
 * subscribe: serveServerStream(async (_req, responses, ctx) => {
 *   await resumeBroadcast(feed, ctx.metadata, responses, {
 *     signal: ctx.signal,
 *     map: (tick, seq) => ({ tick: { ...tick, seq } }),
 *     onLag: (missed) => responses.send({ missed }),
 *   });
 * }),
 * ```
 */
export async function resumeBroadcast<T, Res = T>(
  source: BroadcastSource<T>,
  metadata: Metadata,
  responses: Sender<Res>,
  options?: SendBroadcastOptions<T, Res>,
): Promise<SendBroadcastResult> {
  const last = resumeFromMetadata(metadata);
  if (last === undefined) return forward(source.subscribe(), responses, options, 0);
  const next = source.nextSeq;
  const rx = source.subscribe({ from: Math.min(last + 1, next) });
  return forward(rx, responses, options, last);
}
