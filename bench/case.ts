/**
 * Runs one benchmark configuration in a fresh process (so cases do not share JIT state or heap):
 * a warm-up, then `reps` measured repetitions. `tsx bench/case.ts '<json spec>'` prints one JSON line:
 * `{ "values": number[] }` (or `{ "p50": number[], "p99": number[] }` for ping-pong).
 */
import { type ChannelCaseArgs, channelCases } from "./channel-cases.js";
import { concurrent, echo, type Impl, pingPong } from "./grpc-cases.js";

/** What to run. */
export type CaseSpec =
  | ({ kind: "channel"; impl: string; reps: number } & ChannelCaseArgs)
  | { kind: "echo"; impl: Impl; n: number; reps: number }
  | { kind: "pingpong"; impl: Impl; n: number; reps: number }
  | { kind: "concurrent"; impl: Impl; streams: number; n: number; reps: number };

async function once(spec: CaseSpec, warm: boolean): Promise<number | { p50: number; p99: number }> {
  switch (spec.kind) {
    case "channel": {
      const run = channelCases[spec.impl];
      if (!run) throw new Error(`unknown channel case ${spec.impl}`);
      // A fixed, large warm-up: with fewer messages the JIT has not settled and the first run measures it.
      const n = warm ? 300_000 : spec.n;
      const t0 = performance.now();
      await run({ ...spec, n });
      return n / ((performance.now() - t0) / 1000);
    }
    case "echo":
      return echo(spec.impl, warm ? Math.max(1000, Math.floor(spec.n / 10)) : spec.n);
    case "pingpong":
      return pingPong(spec.impl, warm ? 200 : spec.n);
    case "concurrent":
      return concurrent(spec.impl, warm ? 10 : spec.streams, warm ? 50 : spec.n);
  }
}

const spec = JSON.parse(process.argv[2] ?? "{}") as CaseSpec;
await once(spec, true);
const results: (number | { p50: number; p99: number })[] = [];
for (let r = 0; r < spec.reps; r++) {
  global.gc?.();
  results.push(await once(spec, false));
}
if (spec.kind === "pingpong") {
  const lat = results as { p50: number; p99: number }[];
  console.log(JSON.stringify({ p50: lat.map((x) => x.p50), p99: lat.map((x) => x.p99) }));
} else {
  console.log(JSON.stringify({ values: results }));
}
