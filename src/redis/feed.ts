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
import { newEpoch } from "../fanout/epoch.js";

/** What a feed reports: errors it recovers from, its reconnections, gaps, foreign entries and resets of the stream. */
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
      /** One of the feed's entries that it cannot read (no `v` field, or `decode` threw): a counted gap. */
      readonly type: "bad-entry";
      readonly id: string;
      readonly error: unknown;
    }
  | {
      /**
       * An entry no RedisFeed wrote (an ID not `n-0`, or an ID of Redis's own, `XADD key * ...`,
       * above 10^12, whatever its fields; one without an epoch once the feed has read one with an
       * epoch), or one of an epoch this feed reset away from: skipped,
       * not a value, not a gap and never a reset; counted in `metrics().foreignSkipped`.
       */
      readonly type: "foreign";
      readonly id: string;
    }
  | {
      /**
       * The stream's newest entry is below the last value this process read: Redis lost entries it
       * had acknowledged (restarted from an older snapshot, or without persistence; a failover to a
       * replica that lagged), or they were deleted. This process delivered values `seq + 1` to
       * `delivered` that the stream no longer has. Seen after a reconnection and after an idle read;
       * reported once per rollback. A publisher restarted on the rolled-back stream writes a new
       * epoch (its numbers would otherwise mean other values here), which is then a `reset`.
       */
      readonly type: "rollback";
      /** The stream's newest entry of the feed now (0 for none). */
      readonly seq: number;
      /** The last sequence number this process read. */
      readonly delivered: number;
    }
  | {
      /**
       * The stream started again (deleted or flushed, and a publisher numbering from 1 under a new
       * epoch), or a publisher restarted on a stream Redis may have rolled back, numbering on under
       * a new epoch from `from`: the local ring starts again at `from`, its receivers end, and calls
       * served from it end with `ABORTED` (see `resumeBroadcast`), so that clients reconnect and learn
       * the new epoch.
       */
      readonly type: "reset";
      readonly previousEpoch: string;
      readonly epoch: string;
      /** The first sequence number of the new epoch. */
      readonly from: number;
    };

/** What {@link RedisFeed.metrics} reports: a snapshot of the feed's counters in this process. */
export interface RedisFeedMetrics {
  /**
   * Values in the local ring that some receiver has not read yet: 0 once every receiver has read
   * everything, however full the replay window is (that is `held`).
   */
  readonly len: number;
  /** Values the local ring holds now: the replay window, and any older ones some receiver has yet to read. */
  readonly held: number;
  /** The local ring's capacity. */
  readonly capacity: number;
  /** Local receivers subscribed now. */
  readonly receivers: number;
  /** Stream entries read (the feed's own and foreign ones). */
  readonly entriesRead: number;
  /** Values this feed published that Redis acknowledged. */
  readonly published: number;
  /** Connections that came back after a loss: both connections, `readerReconnects + writerReconnects`. */
  readonly reconnects: number;
  /** Times the reading connection came back after a loss. */
  readonly readerReconnects: number;
  /** Times the publishing connection (also used by `history`) came back after a loss. */
  readonly writerReconnects: number;
  /** Values missing from the stream before this process read them (trimmed, lost, undecodable). */
  readonly gaps: number;
  /**
   * Values lost to local receivers, all receivers together, over every epoch: the `Lagged` counts
   * they got, less the values `history` read back from the stream for them (`refilled`), which
   * reached their clients.
   */
  readonly lagged: number;
  /** Foreign entries skipped (see the `foreign` event). */
  readonly foreignSkipped: number;
  /** Resets of the stream seen (see the `reset` event). */
  readonly resets: number;
  /** Rollbacks of the stream seen (see the `rollback` event). */
  readonly rollbacks: number;
  /** Values read back from the stream for clients the ring no longer held (`history`). */
  readonly refilled: number;
}

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
  /**
   * Options of node-redis's `createClient` (`url`, auth, TLS, `socket.reconnectStrategy`...); `RESP`
   * is set to 2. node-redis has no command timeout by default: once started, a server that accepts
   * TCP and never answers holds a command for ever, unless `socket.socketTimeout` (ms) closes an idle
   * socket (the command then fails and is retried on a new connection); set it above `blockMs`, or
   * every idle `XREAD BLOCK` trips it.
   */
  client?: Omit<RedisClientOptions, "RESP">;
  /**
   * How long the start may take, in ms (default 5000): connecting both connections and reading the
   * stream's newest entries. Past it, {@link redisFeed} rejects (a server that accepts TCP and never
   * answers would otherwise hold it for ever). An integer from 1.
   */
  connectTimeoutMs?: number;
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
/**
 * Redis's own IDs (`XADD *`) are milliseconds since 1970: above 10^12 since 2001. A feed's numbers
 * stay below it, so an entry at or above it is foreign whatever its fields say (the epoch is public:
 * every client gets it in a header, and an `XADD *` copying it must not pass for a value). An entry
 * without an `e` field below it is taken for one written by a feed from before epochs, until the
 * feed has read one with an `e`: from then on it is foreign too (see `#epochal`).
 */
const OWN_IDS_BELOW = 1e12;
/** Redis's refusal of an ID not above the stream's top: a value published before (a retry). */
const ALREADY_THERE = /equal or smaller than the target stream top item/;

/** The sequence number of stream ID `id` (`n-0`), or `undefined` for an ID this feed did not write. */
function seqOf(id: string): number | undefined {
  const m = ID.exec(id);
  const n = m === null ? Number.NaN : Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The field `name` of an entry's `[field, value, ...]` list. */
function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** What the fields of one of a feed's entries say besides its value. */
interface OwnEntry {
  seq: number;
  /** Its epoch (`e`); `null`: written before epochs. */
  epoch: string | null;
  /** The first sequence number of its epoch (`b`; 1 when absent). */
  base: number;
  /** The Redis run (`r`: the start of Redis's `run_id`) its publisher wrote it into; `null` when absent. */
  run: string | null;
}

/** What one of a feed's entries says of itself, or `undefined` for a foreign one. */
function ownEntry(entry: RawEntry): OwnEntry | undefined {
  const seq = seqOf(entry[0]);
  if (seq === undefined || seq >= OWN_IDS_BELOW) return undefined;
  const b = Number(field(entry[1], "b") ?? 1);
  const base = Number.isSafeInteger(b) && b >= 1 && b <= seq ? b : 1;
  return { seq, epoch: field(entry[1], "e") ?? null, base, run: field(entry[1], "r") ?? null };
}

/**
 * The run of the Redis server behind `client`: the first 16 digits of `run_id` (`INFO server`),
 * which Redis makes anew at every start. `""` if it cannot be read (a proxy that hides `INFO`): no
 * entry then matches it, which is the safe side (see {@link redisFeed}: a new epoch).
 */
async function redisRun(client: Client): Promise<string> {
  try {
    const info = String(await client.sendCommand(["INFO", "server"]));
    return /^run_id:([0-9a-f]{16})/m.exec(info)?.[1] ?? "";
  } catch {
    return "";
  }
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

/** Where a feed starts, as {@link redisFeed} read it from the stream. */
interface Start {
  /** The last stream ID read (`0-0` before the first). */
  lastId: string;
  /** The sequence number the next value published gets. */
  publishSeq: number;
  /** The stream's epoch, from its newest entry; `undefined` for a stream without one. */
  epoch: string | undefined;
  /** The first sequence number of that epoch. */
  base: number;
  /** The epoch this feed publishes under, when it is not `epoch` (a new one: see {@link redisFeed}). */
  writeEpoch: string | undefined;
  /** The first sequence number of the epoch this feed publishes under. */
  writeBase: number;
  /** The Redis run the writer is connected to (see `redisRun`). */
  run: string;
}

/**
 * A broadcast fed from a Redis stream, that publishes into it too. See {@link redisFeed}.
 */
export class RedisFeed<T> {
  #shared: Shared<T>;
  /** The stream's epoch: from its entries, or made here for a stream that has none yet. */
  #epoch: string;
  /** Whether an entry of the feed was read (until then, the first one's epoch is adopted silently). */
  #seen: boolean;
  /** Resolves once `#seen` (or the feed closes): the epoch is the stream's own, not a provisional one. */
  readonly #known: Promise<void>;
  #settle: () => void = () => {};
  /**
   * The epochs this feed reset away from: their entries, read again from the stream's start (two
   * publishers on one key), are foreign, or the feed would reset back and forth for ever.
   */
  readonly #retired = new Set<string>();
  /**
   * Whether the feed read an entry with an epoch (`e`): from then on an `n-0` entry without one is
   * not a value from before epochs but another writer's (`XADD key 999999999-0 note x`), foreign,
   * or it would count a gap of a billion values, and every value after it would be taken as read.
   */
  #epochal: boolean;
  /** The first sequence number of `#epoch`: below it no value is of this epoch. */
  #base: number;
  /** The epoch this feed publishes under (`#epoch`, unless it started a new one), and its first number. */
  #writeEpoch: string;
  #writeBase: number;
  /** The Redis run the writer's entries are tagged with (`r`), read again after each reconnection. */
  #run: string;
  #runStale = false;
  /** Whether the reader's connection came back: the stream is checked for a rollback before reading on. */
  #recheck = false;
  /** The stream's top last reported as a rollback (so that one rollback is one event). */
  #rolledBackTo = -1;
  #entriesRead = 0;
  #published = 0;
  #readerReconnects = 0;
  #writerReconnects = 0;
  #rollbacks = 0;
  #gaps = 0;
  #laggedBefore = 0;
  #foreign = 0;
  #resets = 0;
  #refilled = 0;
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
  constructor(shared: Shared<T>, reader: Client, writer: Client, options: RedisFeedOptions<T>, start: Start) {
    const { lastId, publishSeq, epoch } = start;
    this.#epoch = epoch ?? newEpoch();
    this.#base = start.base;
    this.#writeEpoch = start.writeEpoch ?? this.#epoch;
    this.#writeBase = start.writeBase;
    this.#run = start.run;
    this.#seen = epoch !== undefined;
    this.#epochal = epoch !== undefined;
    this.#known = new Promise<void>((resolve) => {
      this.#settle = resolve;
    });
    if (this.#seen) this.#settle();
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
    if (event.type === "ready") {
      if (event.connection === "reader") {
        this.#readerReconnects++;
        this.#recheck = true;
      } else {
        this.#writerReconnects++;
        this.#runStale = true; // Redis may have restarted: its entries get the new run
      }
    }
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
    const from = options?.from;
    // Below the epoch's first number no value is of this epoch: none is missing there. Only for
    // an integer: 2.5 is refused here as anywhere else.
    if (
      typeof from === "number" &&
      Number.isInteger(from) &&
      from >= 1 &&
      from < this.#base &&
      this.#base <= this.#shared.tail
    )
      return subscribeTo(this.#shared, { ...options, from: this.#base });
    return subscribeTo(this.#shared, options);
  }

  /**
   * Reads the stream's newest entry now and, if the stream has started a new epoch that this process
   * has not read yet, resets to it (the `reset` event) before it resolves; never rejects (an error,
   * or no answer within `blockMs`, leaves the epoch as it was). `resumeBroadcast` calls it when a client comes with another epoch
   * than the feed's: the client may have it from a process that saw the reset first, and must not
   * be started again in the epoch it left (its values are the old stream's).
   */
  async refreshEpoch(): Promise<void> {
    if (this.#closed) return;
    // On the publishing connection (the reader may be blocked in XREAD), for `blockMs` at most: a
    // Redis down holds the command until it is back, and the client's call must not wait that long.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#options.blockMs);
    });
    await Promise.race([this.#checkTop(this.#writer), late]);
    clearTimeout(timer);
  }

  /**
   * The stream's epoch: a random token the feed that first wrote to the stream made, stored in every
   * entry (`e` field). A stream deleted or flushed and written again from 1 has a new one; clients
   * resuming through `resumeBroadcast` learn of it, instead of waiting for a number of the old stream.
   */
  get epoch(): string {
    return this.#epoch;
  }

  /**
   * Resolves once {@link epoch} is the stream's own: at once for a stream that had entries when the
   * feed opened; for an empty one (whose epoch is then this feed's provisional one), when the feed
   * reads its first entry, or closes. `resumeBroadcast` waits for it before it tells a client the epoch.
   */
  get epochKnown(): Promise<void> {
    return this.#known;
  }

  /**
   * Up to `count` values of `epoch` (default: the current one) with a sequence number above `after`
   * and below `before`, read from the stream (`XRANGE key (after-0 (before-0 COUNT count`), oldest
   * first: what `resumeBroadcast` sends a client that resumes from further back than the ring holds
   * (it passes the epoch its call started with). Foreign and undecodable entries are left out (the
   * caller counts those numbers as a gap); a page of `count` entries with none of the epoch's values
   * reads on, so that an empty result means the stream has none of them.
   *
   * @throws `Error` (the promise rejects) if the feed is closed, or if Redis cannot be reached now (also
   * an `error` event): the values may still be in the stream, and are not a gap.
   */
  async history(
    after: number,
    before: number,
    count: number,
    epoch: string = this.#epoch,
  ): Promise<(readonly [number, T])[]> {
    if (before - after <= 1) return [];
    const found: (readonly [number, T])[] = [];
    // A page of none of this epoch's values (foreign entries, another epoch's, undecodable ones)
    // is not the end of the log: the next page is read, from the last entry's ID, or the caller
    // would count the values after it as lost.
    for (let start = `(${after}-0`; ; ) {
      if (this.#closed) throw new Error(`the Redis feed of stream ${this.#options.key} is closed`);
      let entries: RawEntry[];
      try {
        entries = (await this.#writer.sendCommand([
          "XRANGE",
          this.#options.key,
          start,
          `(${before}-0`,
          "COUNT",
          String(count),
        ])) as RawEntry[];
      } catch (error) {
        this.report({ type: "error", during: "read", error });
        throw error;
      }
      for (const entry of entries) {
        const own = ownEntry(entry);
        // Another epoch's entries under these numbers: the stream was written again since `epoch`.
        if (own === undefined || (own.epoch !== null && own.epoch !== epoch)) continue;
        if (own.epoch === null && this.#epochal) continue; // another writer's
        const value = this.#decoded(entry);
        if (value !== undefined) found.push([own.seq, value]);
      }
      const last = entries[entries.length - 1];
      if (found.length > 0 || entries.length < count || last === undefined) break;
      start = `(${last[0]}`;
    }
    this.#refilled += found.length;
    return found;
  }

  /**
   * A snapshot of the feed's counters in this process: the local ring (`len`, `capacity`,
   * `receivers`), what it read and published, and every way the stream can fail its receivers.
   * A new plain object on each call.
   *
   * @example
   * ```ts
   * const { gaps, foreignSkipped, resets } = feed.metrics();
   * ```
   */
  metrics(): RedisFeedMetrics {
    const shared = this.#shared;
    return {
      len: shared.len,
      held: shared.tail - shared.oldestHeld,
      capacity: shared.capacity,
      receivers: shared.receivers.count,
      entriesRead: this.#entriesRead,
      published: this.#published,
      reconnects: this.#readerReconnects + this.#writerReconnects,
      readerReconnects: this.#readerReconnects,
      writerReconnects: this.#writerReconnects,
      gaps: this.#gaps,
      lagged: Math.max(0, this.#laggedBefore + shared.lagged - this.#refilled),
      foreignSkipped: this.#foreign,
      resets: this.#resets,
      rollbacks: this.#rollbacks,
      refilled: this.#refilled,
    };
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
    this.#settle(); // a call waiting for the epoch goes on, to the ring's end
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
        if (this.#runStale) {
          this.#runStale = false;
          this.#run = await redisRun(this.#writer);
        }
        const batch = this.#queue.slice(0, 256);
        // `b` (the epoch's first number) only where it is not 1; `r`: the Redis run written into.
        const tags = ["e", this.#writeEpoch, "r", this.#run];
        if (this.#writeBase !== 1) tags.push("b", String(this.#writeBase));
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
              ...tags,
            ]),
          ),
        );
        // close() rejected the batch (SendError) and destroyed the writer under it: the XADDs
        // that failed for that are not the publish error an event would report.
        if (this.#closed) break;
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
          this.#published++;
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
        if (field(entry[1], "v") === p.text) return WRITTEN;
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
      if (topSeq !== undefined && topSeq < this.#publishSeq) {
        // Gone is trimmed only below the oldest entry held: above it, the entry was never written
        // (a later value of this feed landed first), and resolving would tell a loss as a write.
        const [oldest] = (await this.#writer.sendCommand([
          "XRANGE",
          key,
          "-",
          "+",
          "COUNT",
          "1",
        ])) as RawEntry[];
        const oldestSeq = oldest === undefined ? undefined : seqOf(oldest[0]);
        if (oldestSeq === undefined || oldestSeq > p.seq) return WRITTEN;
        return new Error(
          `Redis never got sequence number ${p.seq} of stream ${key}: a later value was written first, and the stream cannot take a number below its top (its readers count the value as missed)`,
        );
      }
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
      const resets = this.#resets;
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
      if (this.#recheck) {
        // Back after a loss: Redis may have restarted from an older snapshot. Checked before what
        // was read is taken in, for that may be the new epoch already (the check then resets).
        this.#recheck = false;
        await this.#checkTop();
      }
      // Reset meanwhile (by `refreshEpoch`): what came was read after the old epoch's last ID.
      if (this.#resets !== resets) continue;
      if (entries !== undefined) this.ingest(entries);
      else await this.#checkTop();
    }
  }

  /**
   * After an idle read and after a reconnection: whether the stream started again, or went back. A
   * new publisher numbers below the last ID this process read (from 1 on a deleted stream, from the
   * restored top on a rolled-back one), so XREAD would wait silently until the numbers pass it; the
   * top entry tells (its epoch is not ours). A top of our epoch below what this process read is a
   * rollback (reported once): Redis lost entries this process delivered.
   */
  async #checkTop(client: Client = this.#reader): Promise<void> {
    let top: RawEntry | undefined;
    try {
      [top] = (await client.sendCommand([
        "XREVRANGE",
        this.#options.key,
        "+",
        "-",
        "COUNT",
        "1",
      ])) as RawEntry[];
    } catch {
      return; // the next XREAD reports the connection's failure
    }
    const own = top === undefined ? undefined : ownEntry(top);
    const tail = this.#shared.tail;
    if (own?.epoch != null && own.epoch !== this.#epoch && !this.#retired.has(own.epoch)) {
      if (own.seq < tail) this.#reset(own.epoch, own.base);
      return;
    }
    if (own !== undefined && own.epoch !== null && own.epoch !== this.#epoch) return; // a retired one
    if (own?.epoch === null && this.#epochal) return; // another writer's, as a foreign top
    if (top !== undefined && own === undefined) return; // a foreign top: not one of our numbers
    const seq = own?.seq ?? 0;
    // A top of ours not read yet, below the last ID read: that ID was a foreign one above our
    // numbers (`XADD *`), gone since (the stream deleted, Redis restarted empty), and XREAD after
    // it would wait for ever while the publisher goes on. Read on after the last value instead.
    if (own !== undefined && seq >= tail && Number(this.#lastId.split("-")[0]) >= seq)
      this.#lastId = `${tail - 1}-0`;
    if (seq < tail - 1 && seq !== this.#rolledBackTo && this.#seen) {
      this.#rolledBackTo = seq;
      this.#rollbacks++;
      this.report({ type: "rollback", seq, delivered: tail - 1 });
    }
  }

  /**
   * The stream has a new epoch: the ring starts again (its receivers get what they hold, then the
   * end), and reading starts again from the stream's first entry.
   */
  #reset(epoch: string, from: number): void {
    const previousEpoch = this.#epoch;
    const old = this.#shared;
    // The epoch first: a call that sees its receiver end checks it to tell a reset from an end.
    this.#epoch = epoch;
    this.#base = from;
    if (this.#writeEpoch === previousEpoch) {
      this.#writeEpoch = epoch; // a publisher that had not started an epoch of its own follows
      this.#writeBase = from;
    }
    this.#retired.add(previousEpoch);
    this.#resets++;
    this.#rolledBackTo = -1;
    this.#laggedBefore += old.lagged;
    this.#shared = new Shared<T>(old.capacity, old.replay, from, epoch);
    this.#lastId = `${from - 1}-0`;
    old.dropSender();
    this.report({ type: "reset", previousEpoch, epoch, from });
  }

  /** The value of one of the feed's entries, or `undefined` (reported) if it cannot be read. */
  #decoded([id, fields]: RawEntry): T | undefined {
    try {
      const text = field(fields, "v");
      if (text === undefined) throw new Error("the entry has no `v` field");
      const value = this.#decode(text);
      if (value === undefined) throw new Error("decode returned undefined");
      return value;
    } catch (error) {
      this.report({ type: "bad-entry", id, error });
      return undefined;
    }
  }

  /** @internal Puts stream entries (oldest first) into the ring: duplicates dropped, gaps counted, foreign ones skipped. */
  ingest(entries: RawEntry[]): void {
    for (const entry of entries) {
      this.#entriesRead++;
      this.#lastId = entry[0];
      const own = ownEntry(entry);
      if (own?.epoch != null) this.#epochal = true;
      if (
        own === undefined ||
        (own.epoch !== null && this.#retired.has(own.epoch)) ||
        (own.epoch === null && this.#epochal)
      ) {
        this.#foreign++;
        this.report({ type: "foreign", id: entry[0] });
        continue;
      }
      if (own.epoch !== null && own.epoch !== this.#epoch) {
        if (this.#seen) {
          // Entries of another epoch: the stream was written again from scratch, or on from a
          // rollback. Read it from the epoch's start (the rest of this batch comes again, into the
          // new ring).
          this.#reset(own.epoch, own.base);
          return;
        }
        // A stream that had no entry when this feed opened: its first writer's.
        if (this.#writeEpoch === this.#epoch) {
          this.#writeEpoch = own.epoch;
          this.#writeBase = own.base;
        }
        this.#epoch = own.epoch;
        this.#base = own.base;
      }
      if (!this.#seen) this.#settle();
      this.#seen = true;
      this.#rolledBackTo = -1;
      const shared = this.#shared;
      const { seq } = own;
      if (seq < shared.tail) continue; // read again after a reconnection, or replayed after a restart
      if (seq > shared.tail) {
        const missed = seq - shared.tail;
        this.#gaps += missed;
        this.report({ type: "gap", missed, seq });
        shared.skip(missed);
      }
      const value = this.#decoded(entry);
      if (value === undefined) {
        this.#gaps++;
        shared.skip(1); // a value nobody can read is a counted gap, never a silent one
        continue;
      }
      shared.send(value);
    }
  }
}

/**
 * The sequence number of the stream's last-generated ID (`XINFO STREAM`): 0 for a stream that does
 * not exist, or whose last ID is one of Redis's own (`XADD *`, above 10^12).
 */
async function lastGenerated(client: Client, key: string): Promise<number> {
  let info: unknown;
  try {
    info = await client.sendCommand(["XINFO", "STREAM", key]);
  } catch {
    return 0; // no such key: a new stream
  }
  const id = Array.isArray(info) ? field(info as string[], "last-generated-id") : undefined;
  // Of `n-m` only `n` counts: the next value's ID `<n + 1>-0` is above it, whoever wrote it.
  const n = Number(/^([0-9]{1,16})-[0-9]+$/.exec(String(id))?.[1]);
  return Number.isSafeInteger(n) && n < OWN_IDS_BELOW ? n : 0;
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
 * @throws RangeError naming the option, for a bad `capacity`, `replay`, `maxLen`, `blockMs` or
 * `connectTimeoutMs`.
 * @throws `Error` (the promise rejects) if the first connection fails, or if the start takes longer
 * than `connectTimeoutMs`.
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
  const connectTimeoutMs =
    options.connectTimeoutMs === undefined
      ? 5000
      : integerFrom(options.connectTimeoutMs, "connectTimeoutMs", 1);
  if (typeof options.key !== "string" || options.key === "") {
    throw new TypeError(`Expected \`key\` to be a non-empty string, got ${String(options.key)}`);
  }
  const connect = (extra?: RedisClientOptions): Client =>
    createClient({ ...options.client, ...extra, RESP: 2 }) as unknown as Client;
  // The writer has no offline queue: when its connection dies, node-redis would otherwise reject
  // only the XADDs already written and send the rest of the batch on the next connection, so a
  // later value could land above an earlier one that failed, and the earlier one could never be
  // written under its number again (a gap in the stream). Without it every command of the batch
  // fails together, and the stream holds a prefix of the batch, which the retry recognises.
  const writer = connect({ disableOfflineQueue: true });
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
  const timer = setTimeout(() => {
    failStart(
      new Error(
        `Redis did not answer within ${connectTimeoutMs} ms (connectTimeoutMs) while the feed of stream ${options.key} started`,
      ),
    );
  }, connectTimeoutMs);
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
    const [newest, run] = (await Promise.race([
      Promise.all([
        writer.sendCommand(["XREVRANGE", options.key, "+", "-", "COUNT", String(Math.max(1, replay))]),
        redisRun(writer),
      ]),
      startFailed,
    ])) as [RawEntry[], string];
    // The newest of the feed's own entries gives the epoch and the numbers; foreign ones are skipped.
    // Among them, once one has an epoch, those without one are another writer's (see `#epochal`).
    const own = newest.filter((e) => ownEntry(e) !== undefined);
    const epochal = own.some((e) => ownEntry(e)?.epoch != null);
    const ours = epochal ? own.filter((e) => ownEntry(e)?.epoch != null) : own;
    const head = ours[0] === undefined ? undefined : ownEntry(ours[0]);
    // A stream emptied (`XTRIM MAXLEN 0`, every entry deleted) keeps its last ID: numbering from 1
    // under it, every publish up to it would be refused.
    const emptied =
      head === undefined ? await Promise.race([lastGenerated(writer, options.key), startFailed]) : 0;
    const top = head?.seq ?? emptied;
    const epoch = head?.epoch ?? undefined;
    const kept = replay === 0 ? [] : ours.filter((e) => ownEntry(e)?.epoch === head?.epoch).reverse();
    const firstSeq = kept[0] === undefined ? top + 1 : (seqOf(kept[0][0]) ?? top + 1);
    const shared = new Shared<T>(capacity, replay, firstSeq);
    const lastId = newest[0]?.[0] ?? (emptied > 0 ? `${emptied}-0` : "0-0");
    // Its top written into this very Redis run: Redis has lost nothing since (losing acknowledged
    // entries takes a restart: from an older snapshot, without persistence, a failover), so every
    // number up to it means here what it meant to every reader, and the epoch goes on. Written into
    // an earlier run, readers may have read entries above it that Redis lost: numbering on under
    // the same epoch would give their numbers other values, so the publisher starts a new epoch
    // from there (readers reset to it; their clients learn it).
    const continues = head !== undefined && head.run !== null && head.run === run && run !== "";
    const writeEpoch = head === undefined || continues ? undefined : newEpoch();
    feed = new RedisFeed(shared, reader, writer, options, {
      lastId,
      publishSeq: top + 1,
      epoch,
      base: head?.base ?? top + 1,
      writeEpoch,
      writeBase: writeEpoch === undefined ? (head?.base ?? top + 1) : top + 1,
      run,
    });
    feed.ingest(kept);
    for (const event of events) feed.report(event);
    return feed;
  } catch (error) {
    writer.destroy();
    reader.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
