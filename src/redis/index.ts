/**
 * # grpc-mpsc/redis: one feed served by several processes, from a Redis stream
 *
 * A `broadcast` lives in one process. Behind a load balancer, several server processes must serve
 * the same feed, and a client that reconnects may land on any of them. {@link redisFeed} makes each
 * process's broadcast a reader of one Redis stream, the shared log: the publisher appends with
 * `XADD <seq>-0 MAXLEN ~ maxLen`, and every process reads with `XREAD BLOCK` into its local ring.
 * The stream ID is the sequence number (`n-0` is value n), so every process hands out the same
 * values under the same numbers, and `resumeBroadcast` (`grpc-mpsc/grpc`) resumes a client on any.
 *
 * **Backpressure** is the ring's: a process reads at most `capacity` entries at a time and its
 * receivers lag locally (counted) rather than hold entries; a process that falls behind the stream's
 * trim, or whose unread entries a Redis restart lost, hands its receivers a `Lagged` with the exact
 * count (the IDs are dense). **Failures** (connection loss, a Redis restart) are retried: reading goes
 * on from the last ID read, publishing from the first value not acknowledged (a retry of a value Redis
 * has is recognised by its ID, so nothing is written twice), and each is reported through `onEvent`.
 *
 * It needs the `redis` package (node-redis, an optional peer dependency): `npm install redis`.
 * The protocol, the options and the failure modes are in docs/fanout-resume.md.
 *
 * @example
 * ```ts
 * import { redisFeed } from "grpc-mpsc/redis";
 * import { resumeBroadcast, serveServerStream } from "grpc-mpsc/grpc";
 *
 * const feed = await redisFeed<Tick>({ key: "ticks", capacity: 1024, client: { url: process.env.REDIS_URL } });
 * server.addService(TickerService, {
 *   subscribe: serveServerStream(async (_req, responses, ctx) => {
 *     await resumeBroadcast(feed, ctx, responses, {
 *       signal: ctx.signal,
 *       map: (tick, seq) => ({ tick: { ...tick, seq } }),
 *       onLag: (missed) => responses.send({ missed }),
 *     });
 *   }),
 * });
 * ```
 *
 * @module
 */
export {
  RedisFeed,
  type RedisFeedEvent,
  type RedisFeedMetrics,
  type RedisFeedOptions,
  redisFeed,
} from "./feed.js";
