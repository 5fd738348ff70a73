/**
 * A broadcast fed from a Redis stream, so that several server processes serve one feed.
 *
 * Sequence numbers are stream IDs: the value with sequence number n is the entry with ID `n-0`
 * (`XADD key <n>-0`), so a stream ID and a sequence number are one and the same, in every process,
 * and a gap in the IDs is exactly the count of values lost. Each process reads the stream with
 * `XREAD BLOCK` into a local ring (a {@link Shared} broadcast of `capacity`), at most `capacity`
 * entries per read: memory is the ring's, however far behind the stream the process is.
 *
 * @internal
 */
import { createClient, type RedisClientOptions } from "redis";
import { integerFrom, invalidType, positiveInteger, SendError, UNDEFINED_VALUE } from "../channel/index.js";
import { type BroadcastReceiver, Shared, type SubscribeOptions, subscribeTo } from "../fanout/broadcast.js";

/** What a feed reports: errors it recovers from, its reconnections, and gaps in the stream. */
export type RedisFeedEvent =
  | {
      /** A command failed (the connection was lost, Redis restarted or refused it): it is retried. */
      readonly type: "error";
      /** Which loop: reading the stream, publishing into it, or the connection itself. */
      readonly during: "read" | "publish" | "connection";
      readonly error: unknown;
    }
  | {
      /** A connection is back: reading goes on from the last ID read, publishing from the first unacknowledged value. */
      readonly type: "ready";
      readonly connection: "reader" | "writer";
    }
  | {
      /**
       * The stream lacks `missed` values before `seq`: trimmed (`MAXLEN`) before this process read them,
       * or lost by a Redis restart without persistence. Receivers get them as a `Lagged`.
       */
      readonly type: "gap";
      readonly missed: number;
      readonly seq: number;
    }
  | {
      /** An entry that this feed cannot read (not an ID `n-0`, no `v` field, or `decode` threw): a counted gap when its ID is `n-0`. */
      readonly type: "bad-entry";
      readonly id: string;
      readonly error: unknown;
    };

/** Options of {@link redisFeed}. */
export interface RedisFeedOptions<T> {
  /** The stream's key. */
  key: string;
  /** The local ring: how many values a receiver may fall behind before it lags (an integer from 1). */
  capacity: number;
  /**
   * How many of the latest values a new receiver gets, and how far back a client can resume from this
   * process without a gap (0 to `capacity`; default `capacity`). Filled from the stream at start.
   */
  replay?: number;
  /** Options of node-redis's `createClient` (`url`, auth, TLS, `socket.reconnectStrategy`...); `RESP` is set to 2. */
  client?: Omit<RedisClientOptions, "RESP">;
  /** `XADD ... MAXLEN ~ maxLen`: the stream keeps about this many entries (default `4 * capacity`; at least `capacity`). */
  maxLen?: number;
  /** How long one `XREAD BLOCK` waits, in ms (default 1000): a closed feed's reader stops within it at most. */
  blockMs?: number;
  /** A value's text in the stream's `v` field (default `JSON.stringify`). */
  encode?: (value: T) => string;
  /** A value from its text (default `JSON.parse`); one that throws is a counted gap and a `bad-entry` event. */
  decode?: (text: string) => T;
  /** Hears every {@link RedisFeedEvent}; what it throws is ignored (a report must not stop the feed). */
  onEvent?: (event: RedisFeedEvent) => void;
}

/** node-redis's client, as this module uses it (raw commands, so replies are RESP2's arrays). */
interface Client {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  destroy(): void;
  on(event: "error", listener: (error: unknown) => void): unknown;
  on(event: "ready", listener: () => void): unknown;
}

/** Replies of XREAD / XREVRANGE in RESP2: `[id, [field, value, ...]]` per entry. */
type RawEntry = [string, string[]];

const ID = /^([1-9][0-9]{0,15})-0$/;
/** Redis's refusal of an ID not above the stream's top: a value published before (a retry). */
const ALREADY_THERE = /equal or smaller than the target stream top item/;

/** The sequence number of stream ID `id` (`n-0`), or `undefined` for an ID this feed did not write. */
function seqOf(id: string): number | undefined {
  const m = ID.exec(id);
  const n = m === null ? Number.NaN : Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The `v` field of an entry's `[field, value, ...]` list. */
function fieldV(fields: string[]): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === "v") return fields[i + 1];
  return undefined;
}

const WRITTEN = Symbol("written");
const RETRY = Symbol("retry");

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One value waiting to be acknowledged by Redis. */
interface Pending<T> {
  seq: number;
  value: T;
  text: string;
  resolve: (seq: number) => void;
  reject: (error: unknown) => void;
}

/**
 * A broadcast fed from a Redis stream, that publishes into it too. See {@link redisFeed}.
 */
export class RedisFeed<T> {
  readonly #shared: Shared<T>;
  readonly #reader: Client;
  readonly #writer: Client;
  readonly #options: Required<Pick<RedisFeedOptions<T>, "key" | "blockMs">> & RedisFeedOptions<T>;
  readonly #maxLen: number;
  readonly #encode: (value: T) => string;
  readonly #decode: (text: string) => T;
  /** The last stream ID read (`0-0` before the first). */
  #lastId: string;
  /** The sequence number the next value published gets. */
  #publishSeq: number;
  #queue: Pending<T>[] = [];
  #writing = false;
  #closed = false;
  readonly #reading: Promise<void>;

  /** @internal Feeds come from {@link redisFeed}. */
  constructor(
    shared: Shared<T>,
    reader: Client,
    writer: Client,
    options: RedisFeedOptions<T>,
    lastId: string,
    publishSeq: number,
  ) {
    this.#shared = shared;
    this.#reader = reader;
    this.#writer = writer;
    this.#options = { blockMs: 1000, ...options };
    this.#maxLen = options.maxLen ?? 4 * shared.capacity;
    this.#encode = options.encode ?? JSON.stringify;
    this.#decode = options.decode ?? ((text: string) => JSON.parse(text) as T);
    this.#lastId = lastId;
    this.#publishSeq = publishSeq;
    this.#reading = this.#readLoop();
  }

  /** @internal Reports `event`; a throwing listener is ignored. */
  report(event: RedisFeedEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch {
      // A report must not stop the feed, nor crash the process from inside its loop.
    }
  }

  /**
   * A local receiver: the `replay` latest values first, or from sequence number `from` (what this
   * process still holds, else a `Lagged` counting exactly those gone), then every value the stream gets.
   *
   * @throws RangeError naming `from` unless it is an integer from 1 to `nextSeq`.
   */
  subscribe(options?: SubscribeOptions): BroadcastReceiver<T> {
    return subscribeTo(this.#shared, options);
  }

  /** The sequence number of the next value this process will read from the stream. */
  get nextSeq(): number {
    return this.#shared.tail;
  }

  /** Local receivers subscribed now. */
  get receiverCount(): number {
    return this.#shared.receivers.count;
  }

  /**
   * Appends `value` to the stream (`XADD <seq>-0 MAXLEN ~`), retrying through connection loss and
   * Redis restarts until Redis acknowledges it; values are written in the order of the calls.
   * Every process (this one too) delivers it once it reads it back.
   *
   * One publisher per stream: the IDs are this feed's own counter, so that a retry of a value Redis
   * already has is recognised (Redis refuses an ID not above its top) instead of written twice.
   *
   * @returns its sequence number, once Redis has it.
   * @throws `SendError` (from `grpc-mpsc`) carrying `value` back if the feed is closed before Redis acknowledged it.
   * @throws TypeError for `undefined`, or if `encode` returns something else than a string.
   * @throws `Error` if Redis refuses its ID and has not got it: the stream's top is an entry this feed
   * did not write (another publisher, or an `XADD *`), so the value is not in the stream.
   */
  publish(value: T): Promise<number> {
    if (this.#closed) return Promise.reject(new SendError(value, "the Redis feed is closed"));
    // A receiver cannot be handed `undefined` (it means the end), and XADD takes only a string: either
    // queued would be refused on every retry, and hold every later value behind it for ever.
    if (value === undefined) return Promise.reject(new TypeError(UNDEFINED_VALUE));
    let text: string;
    try {
      text = this.#encode(value);
    } catch (error) {
      return Promise.reject(error);
    }
    if (typeof text !== "string") return Promise.reject(invalidType("encode(value)", "a string", text));
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ seq: this.#publishSeq++, value, text, resolve, reject });
      if (!this.#writing) void this.#writeLoop();
    });
  }

  /**
   * Stops reading, ends every local receiver (after what it has not read), rejects the values not yet
   * acknowledged with `SendError`, and closes both connections. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#shared.dropSender();
    for (const p of this.#queue.splice(0)) p.reject(new SendError(p.value, "the Redis feed closed first"));
    this.#reader.destroy(); // a blocked XREAD rejects now instead of after blockMs
    await this.#reading;
    this.#writer.destroy();
  }

  /** Writes the queue in order, a batch per round trip, until it is empty. */
  async #writeLoop(): Promise<void> {
    this.#writing = true;
    const { key } = this.#options;
    try {
      while (!this.#closed && this.#queue.length > 0) {
        const batch = this.#queue.slice(0, 256);
        const results = await Promise.allSettled(
          batch.map((p) =>
            this.#writer.sendCommand([
              "XADD",
              key,
              "MAXLEN",
              "~",
              String(this.#maxLen),
              `${p.seq}-0`,
              "v",
              p.text,
            ]),
          ),
        );
        let done = 0;
        for (const r of results) {
          const p = batch[done] as Pending<T>;
          if (r.status === "rejected") {
            if (!ALREADY_THERE.test(String(r.reason))) break;
            // Redis refuses an ID not above its top. From an earlier attempt of this value, it is
            // this value; but a foreign entry (`XADD *`) or another publisher above it means it was
            // never written, and resolving would lose it silently.
            const refused = await this.#refusal(p);
            if (this.#closed || refused === RETRY) break;
            if (refused !== WRITTEN) {
              this.#queue.shift();
              done++;
              p.reject(refused);
              continue;
            }
          }
          this.#queue.shift();
          done++;
          p.resolve(p.seq);
        }
        if (done < batch.length) {
          const failed = results[done];
          this.report({
            type: "error",
            during: "publish",
            error: failed?.status === "rejected" ? failed.reason : undefined,
          });
          if (!this.#closed) await sleep(50);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * Why the stream's refusal of `p`'s ID means `p` was not written (an `Error` to reject it with), or
   * `WRITTEN` if Redis has it from an earlier attempt: the entry is there with its text, or it is
   * gone (trimmed) while the stream's top is one of this feed's own IDs; `RETRY` if it cannot tell now.
   */
  async #refusal(p: Pending<T>): Promise<Error | typeof WRITTEN | typeof RETRY> {
    const { key } = this.#options;
    const id = `${p.seq}-0`;
    try {
      const [entry] = (await this.#writer.sendCommand(["XRANGE", key, id, id])) as RawEntry[];
      if (entry !== undefined) {
        if (fieldV(entry[1]) === p.text) return WRITTEN;
        return new Error(
          `Redis has another value under sequence number ${p.seq} of stream ${key}: one publisher per stream`,
        );
      }
      const [top] = (await this.#writer.sendCommand([
        "XREVRANGE",
        key,
        "+",
        "-",
        "COUNT",
        "1",
      ])) as RawEntry[];
      const topSeq = top === undefined ? undefined : seqOf(top[0]);
      if (topSeq !== undefined && topSeq < this.#publishSeq) return WRITTEN;
      return new Error(
        `Redis refused sequence number ${p.seq} of stream ${key}: its top entry ${top?.[0] ?? "(none)"} was not written by this feed (one publisher per stream)`,
      );
    } catch {
      return RETRY; // the connection is lost again: the write loop tries the XADD again
    }
  }

  /** Reads the stream from the last ID into the ring until the feed closes; errors are reported and retried. */
  async #readLoop(): Promise<void> {
    const { key, blockMs } = this.#options;
    const count = String(this.#shared.capacity);
    let failures = 0;
    while (!this.#closed) {
      let reply: unknown;
      try {
        reply = await this.#reader.sendCommand([
          "XREAD",
          "COUNT",
          count,
          "BLOCK",
          String(blockMs),
          "STREAMS",
          key,
          this.#lastId,
        ]);
        failures = 0;
      } catch (error) {
        if (this.#closed) break;
        this.report({ type: "error", during: "read", error });
        // node-redis reconnects on its own; this only paces the retries while it does.
        await sleep(Math.min(1000, 25 * 2 ** Math.min(failures++, 6)));
        continue;
      }
      const streams = reply as [string, RawEntry[]][] | null;
      const entries = streams?.[0]?.[1];
      if (entries !== undefined) this.ingest(entries);
    }
  }

  /** @internal Puts stream entries (oldest first) into the ring: duplicates dropped, gaps counted. */
  ingest(entries: RawEntry[]): void {
    const shared = this.#shared;
    for (const [id, fields] of entries) {
      this.#lastId = id;
      const seq = seqOf(id);
      if (seq === undefined) {
        this.report({
          type: "bad-entry",
          id,
          error: new Error(`stream ID ${id} is not a sequence number (n-0)`),
        });
        continue;
      }
      if (seq < shared.tail) continue; // read again after a reconnection, or replayed after a restart
      if (seq > shared.tail) {
        const missed = seq - shared.tail;
        this.report({ type: "gap", missed, seq });
        shared.skip(missed);
      }
      const text = fieldV(fields);
      let value: T;
      try {
        if (text === undefined) throw new Error("the entry has no `v` field");
        value = this.#decode(text);
        if (value === undefined) throw new Error("decode returned undefined");
      } catch (error) {
        this.report({ type: "bad-entry", id, error });
        shared.skip(1); // a value nobody can read is a counted gap, never a silent one
        continue;
      }
      shared.send(value);
    }
  }
}

/**
 * Connects to Redis and starts a feed of stream `key`: a local broadcast of `capacity` that every
 * entry of the stream goes through, in ID order, and that publishes into the stream. Start one per
 * server process: they all serve the same values under the same sequence numbers, so a client can
 * resume on any of them (with `resumeBroadcast` from `grpc-mpsc/grpc`).
 *
 * At start it fills its ring with the `replay` latest entries and reads on from the newest; it needs
 * Redis then (it rejects if the first connection fails). Later connection losses and Redis restarts
 * are retried and reported through `onEvent`, never thrown: reading goes on from the last ID read,
 * and entries that were lost meanwhile (a restart without persistence) or trimmed before this process
 * read them reach the receivers as a `Lagged` with their exact count.
 *
 * @throws RangeError naming the option, for a bad `capacity`, `replay`, `maxLen` or `blockMs`.
 *
 * @example
 * ```ts
 * import { redisFeed } from "grpc-mpsc/redis";
 *
 * const feed = await redisFeed<Tick>({ key: "ticks", capacity: 1024, client: { url: "redis://127.0.0.1:6379" } });
 * await feed.publish({ symbol: "MPSC", price: 101.5 }); // from one publisher process
 * for await (const item of feed.subscribe()) console.log(item); // in any process
 * ```
 */
export async function redisFeed<T>(options: RedisFeedOptions<T>): Promise<RedisFeed<T>> {
  const capacity = positiveInteger(options.capacity, "capacity", 2 ** 30);
  const replay = options.replay === undefined ? capacity : integerFrom(options.replay, "replay", 0, capacity);
  if (options.maxLen !== undefined) integerFrom(options.maxLen, "maxLen", capacity);
  if (options.blockMs !== undefined) integerFrom(options.blockMs, "blockMs", 1);
  if (typeof options.key !== "string" || options.key === "") {
    throw new TypeError(`Expected \`key\` to be a non-empty string, got ${String(options.key)}`);
  }
  const connect = (): Client => createClient({ ...options.client, RESP: 2 }) as unknown as Client;
  const writer = connect();
  const reader = connect();
  let feed: RedisFeed<T> | undefined;
  const events: RedisFeedEvent[] = [];
  const report = (event: RedisFeedEvent): void => {
    if (feed === undefined) events.push(event);
    else feed.report(event);
  };
  // The first connection failing fails the start: node-redis would otherwise retry it for ever (its
  // default reconnect strategy), and `connect()` would neither resolve nor reject.
  let failStart: (error: unknown) => void = () => {};
  const startFailed = new Promise<never>((_, reject) => {
    failStart = reject;
  });
  // Without an 'error' listener node-redis's errors would be unhandled 'error' events.
  for (const [client, name] of [
    [writer, "writer"],
    [reader, "reader"],
  ] as const) {
    client.on("error", (error: unknown) => {
      if (feed === undefined) failStart(error);
      report({ type: "error", during: "connection", error });
    });
    let first = true;
    client.on("ready", () => {
      if (first) first = false;
      else report({ type: "ready", connection: name });
    });
  }
  try {
    const connecting = Promise.all([writer.connect(), reader.connect()]);
    connecting.catch(() => {}); // once the start failed, destroy() may reject it: nobody waits then
    await Promise.race([connecting, startFailed]);
    const newest = (await Promise.race([
      writer.sendCommand(["XREVRANGE", options.key, "+", "-", "COUNT", String(Math.max(1, replay))]),
      startFailed,
    ])) as RawEntry[];
    const top = newest[0] === undefined ? 0 : (seqOf(newest[0][0]) ?? 0);
    const kept = replay === 0 ? [] : newest.slice().reverse();
    const firstSeq = kept[0] === undefined ? top + 1 : (seqOf(kept[0][0]) ?? top + 1);
    const shared = new Shared<T>(capacity, replay, firstSeq);
    feed = new RedisFeed(shared, reader, writer, options, newest[0]?.[0] ?? "0-0", top + 1);
    feed.ingest(kept);
    for (const event of events) feed.report(event);
    return feed;
  } catch (error) {
    writer.destroy();
    reader.destroy();
    throw error;
  }
}
