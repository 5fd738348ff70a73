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
 * Flags: `--interval-ms` (2), `--capacity` (64), `--count` (2000), `--stall-ms` (3000),
 * `--stream-buffer-kib` (16); `--server-only` with `--port` (50052) runs just the server until Ctrl-C.
 */
import { setDefaultHighWaterMark } from "node:stream";
import { parseArgs } from "node:util";
import { subscribe } from "./client.js";
import { startTicker } from "./server.js";

const { values } = parseArgs({
  options: {
    "interval-ms": { type: "string", default: "2" },
    capacity: { type: "string", default: "64" },
    count: { type: "string", default: "2000" },
    "stall-ms": { type: "string", default: "3000" },
    "stream-buffer-kib": { type: "string", default: "16" },
    "server-only": { type: "boolean", default: false },
    port: { type: "string", default: "50052" },
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
const port = flag("port", 0);
// Before any stream exists: every stream reads its default at creation.
setDefaultHighWaterMark(false, flag("stream-buffer-kib", 1) * 1024);
const log = (line: string): void => console.log(line);

if (values["server-only"]) {
  const ticker = await startTicker({ port, intervalMs, capacity, log });
  process.once("SIGINT", () => void ticker.stop());
} else {
  const ticker = await startTicker({ port: 0, intervalMs, capacity, log });
  const target = `127.0.0.1:${ticker.port}`;
  try {
    const reports = await Promise.all([
      subscribe({ target, name: "alice", count }),
      subscribe({ target, name: "bob", count }),
      subscribe({ target, name: "stalled", count, stallMs, windowBytes: 1024 }),
    ]);
    for (const r of reports) {
      console.log(
        `${r.name}: ${r.ticks} ticks from tick ${r.joinedAt}, ${r.missed} missed, ${r.inOrder ? "in order" : "OUT OF ORDER"}`,
      );
    }
  } finally {
    await ticker.stop();
  }
}
