/**
 * A worker process that runs one implementation's cases (so implementations do not share JIT state or
 * heap), driven by `bench/run.ts` over IPC: `{ load: spec }` warms the case up and answers
 * `{ ready: true }`; each `"run"` runs one measured repetition and answers `{ result }` (a rate, or
 * `{ p50, p99 }` for ping-pong); `"exit"` ends it.
 */
import { type ChannelCaseArgs, channelCases } from "./channel-cases.js";
import { type FanoutCaseArgs, fanoutCases } from "./fanout-cases.js";
import { concurrent, echo, type Impl, pingPong } from "./grpc-cases.js";

/** What to run. */
export type CaseSpec =
  | ({ kind: "channel"; impl: string; warmup: number; warmupCpuMs: number } & ChannelCaseArgs)
  | ({ kind: "fanout"; impl: string } & FanoutCaseArgs)
  | { kind: "echo"; impl: Impl; n: number }
  | { kind: "pingpong"; impl: Impl; n: number }
  | { kind: "concurrent"; impl: Impl; streams: number; n: number };

/** One repetition's measurement. */
export type CaseResult = number | { p50: number; p99: number };

/** Messages between the runner and a worker. */
export type ToWorker = { load: CaseSpec } | "run" | "exit";
export type FromWorker = { ready: true } | { result: CaseResult };

const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;

async function once(spec: CaseSpec, warm: boolean): Promise<CaseResult> {
  switch (spec.kind) {
    case "channel": {
      const run = channelCases[spec.impl];
      if (!run) throw new Error(`unknown channel case ${spec.impl}`);
      if (warm) {
        // Runs of `warmup` messages until this process has spent `warmupCpuMs` of CPU on them: a fixed
        // count is not enough, 8 producers parked on a full channel still ran at half speed for their
        // first 4 million messages.
        const c0 = process.cpuUsage();
        do await run({ ...spec, n: spec.warmup });
        while (cpuMs(process.cpuUsage(c0)) < spec.warmupCpuMs);
        return 0;
      }
      const t0 = performance.now();
      await run(spec);
      return spec.n / ((performance.now() - t0) / 1000);
    }
    case "fanout": {
      const run = fanoutCases[spec.impl];
      if (!run) throw new Error(`unknown fan-out case ${spec.impl}`);
      const n = warm ? Math.max(100, Math.floor(spec.n / 4)) : spec.n;
      const t0 = performance.now();
      await run({ ...spec, n });
      return n / ((performance.now() - t0) / 1000);
    }
    case "echo":
      return echo(spec.impl, warm ? Math.max(1000, Math.floor(spec.n / 4)) : spec.n);
    case "pingpong":
      return pingPong(spec.impl, warm ? 200 : spec.n);
    case "concurrent":
      return concurrent(spec.impl, warm ? 20 : spec.streams, warm ? 50 : spec.n);
  }
}

const send = (message: FromWorker): void => {
  process.send?.(message);
};

if (process.send === undefined) throw new Error("bench/case.ts runs as a worker of bench/run.ts (IPC)");
let spec: CaseSpec | undefined;
const step = async (message: ToWorker): Promise<FromWorker | undefined> => {
  if (message === "exit") {
    process.disconnect();
    return undefined;
  }
  if (message === "run") {
    if (spec === undefined) throw new Error("run before load");
    global.gc?.();
    return { result: await once(spec, false) };
  }
  spec = message.load;
  await once(spec, true);
  return { ready: true };
};
process.on("message", (message: ToWorker) => {
  step(message).then(
    (answer) => {
      if (answer !== undefined) send(answer);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
