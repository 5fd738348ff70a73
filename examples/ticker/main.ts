/**
 * Run: `npm run example:ticker` (or `npx tsx examples/ticker/main.ts`): the fan-out example end to end on loopback. A ticker server publishes a
 * tick every 2 ms to every subscriber; three subscribers each take 2,000 ticks, and one of them
 * (`--stall-ms`, default 3000) stops reading for three seconds after its first tick, on a connection with
 * a 1 KiB flow-control window (a slow link). The log shows the two others unaffected (every tick, in
 * order, none missed) and the stalled one told what it missed.
 *
 * A stalled client still takes ticks off the server until its connection's buffers are full: its
 * HTTP/2 window, plus what its HTTP/2 stream reads ahead into Node's stream buffer (the default
 * highWaterMark: 16 KiB on Node 20, 64 KiB from Node 22: 2,500 ticks or more, and a six-second stall did not fill it here).
 * So that a three-second stall shows on every Node, this demo sets that default to
 * `--stream-buffer-kib` (16, Node 20's value) for the streams of its process, on purpose; a real
 * stalled client holds what its own Node and settings give it.
 *
 * A fourth subscriber, `flaky`, drops its connection every `--drop-every` ticks (500) and
 * reconnects, sending the last tick it has (`mpsc-resume-from`): it resumes with nothing lost and
 * nothing twice, because the server's broadcast replays its last `capacity` ticks.
 *
 * Flags: `--interval-ms` (2), `--capacity` (64), `--count` (2000), `--stall-ms` (3000),
 * `--stream-buffer-kib` (16), `--drop-every` (500); `--server-only` with `--port` (50052) runs just
 * the server until Ctrl-C (or SIGTERM). `--redis redis://127.0.0.1:6379` serves the feed of a Redis
 * stream (`--redis-key`, default "ticker") instead, so that several `--server-only` servers serve one
 * feed and a client resumes on any of them; `--mirror` serves it without publishing into it.
 * `--transport h2` runs server and clients on grpc-mpsc/h2 instead of grpc-js (default `grpc-js`).
 */
import { setDefaultHighWaterMark } from "node:stream";
import { parseArgs } from "node:util";
import { transportOption } from "../cli.js";
import { subscribe, subscribeResuming } from "./client.js";
import { startTicker } from "./server.js";

const { values } = parseArgs({
  options: {
    "interval-ms": { type: "string", default: "2" },
    capacity: { type: "string", default: "64" },
    count: { type: "string", default: "2000" },
    "stall-ms": { type: "string", default: "3000" },
    "stream-buffer-kib": { type: "string", default: "16" },
    "drop-every": { type: "string", default: "500" },
    "server-only": { type: "boolean", default: false },
    port: { type: "string", default: "50052" },
    redis: { type: "string" },
    "redis-key": { type: "string", default: "ticker" },
    mirror: { type: "boolean", default: false },
    transport: { type: "string", default: "grpc-js" },
  },
});

/** The integer value of flag `name` (from `min` up), or a clear message and exit code 2. */
function flag(name: keyof typeof values, min: number): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== "string" || !Number.isSafeInteger(n) || n < min) {
    console.error(`ticker: --${name} must be an integer from ${min} up, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const intervalMs = flag("interval-ms", 1);
const capacity = flag("capacity", 1);
const count = flag("count", 1);
const stallMs = flag("stall-ms", 0);
const dropEvery = flag("drop-every", 1);
const port = flag("port", 0);
// Before any stream exists: every stream reads its default at creation.
setDefaultHighWaterMark(false, flag("stream-buffer-kib", 1) * 1024);
const log = (line: string): void => console.log(line);

const transportProblem = transportOption.flag.check(values.transport);
if (transportProblem !== undefined) {
  console.error(`ticker: --transport ${transportProblem}, got ${JSON.stringify(values.transport)}`);
  process.exit(2);
}
const transport = transportOption.of(values.transport);
const redis = { redisUrl: values.redis, redisKey: values["redis-key"], publish: !values.mirror, transport };
/** The ticker server, or a one-line message and exit code 1 when it cannot start (Redis down, port taken). */
async function start(
  options: Parameters<typeof startTicker>[0],
): Promise<Awaited<ReturnType<typeof startTicker>>> {
  try {
    return await startTicker(options);
  } catch (err) {
    const where = options.redisUrl === undefined ? "" : ` (is Redis up at ${options.redisUrl}?)`;
    console.error(
      `ticker: cannot start the server${where}: ${err instanceof Error ? err.message : String(err)}`,
    );
    process.exit(1);
  }
}

if (values["server-only"]) {
  const ticker = await start({ port, intervalMs, capacity, log, ...redis });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void ticker.stop());
} else {
  const ticker = await start({ port: 0, intervalMs, capacity, log, ...redis });
  const target = `127.0.0.1:${ticker.port}`;
  try {
    const untilSeq = ticker.published + count;
    const [flaky, ...reports] = await Promise.all([
      subscribeResuming({ targets: [target], name: "flaky", untilSeq, dropEvery, transport }),
      subscribe({ target, name: "alice", count, transport }),
      subscribe({ target, name: "bob", count, transport }),
      subscribe({ target, name: "stalled", count, stallMs, windowBytes: 1024, transport }),
    ]);
    for (const r of [...reports, flaky]) {
      console.log(
        `${r.name}: ${r.ticks} ticks from tick ${r.joinedAt}, ${r.missed} missed, ${r.inOrder ? "in order" : "OUT OF ORDER"}`,
      );
    }
    console.log(
      `flaky: ${flaky.reconnects} reconnections, up to tick ${flaky.lastSeq}, ${flaky.duplicates} twice`,
    );
  } finally {
    await ticker.stop();
  }
}
