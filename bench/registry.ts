/**
 * Every benchmark case, in the order they run and are reported. To add a case: write what one
 * repetition does in `bench/cases/`, then add one entry here (see `BenchCase` in bench/define.ts for
 * every field). The runner, the worker, the report, the chart and the progress line take it from here.
 *
 * Case modules are imported where a repetition first needs them (`await import(...)`), so that the
 * runner and the channel workers do not load gRPC.
 */
import type { ChannelParams } from "./cases/channel.js";
import type { Impl } from "./cases/grpc.js";
import type { RunOptions } from "./cli.js";
import { type AnyCase, type Config, defineCase, goal, type TargetSpec } from "./define.js";
import { runProcess } from "./pool.js";
import { fmt } from "./report.js";

/** The gRPC implementations compared; the first is ours. */
const grpcImpls: readonly Impl[] = ["grpc-mpsc", "raw grpc-js", "nice-grpc"];
const asImpl = (impl: string): Impl => impl as Impl;

const channelPeers = ["grpc-mpsc", "PassThrough", "ReadableStream", "array loop"];
const producersLabel = (producers: number): string => `${producers} producer${producers > 1 ? "s" : ""}`;
const channelLabel = (producers: number, capacity: number): string =>
  `${producersLabel(producers)}, capacity ${capacity}`;

const channel = defineCase<ChannelParams>({
  section: "channel",
  title: "channel",
  // it-pushable has no capacity: measured once per producer count; batched: eager producers, recvMany(256).
  impls: [...channelPeers, "it-pushable", "grpc-mpsc batched"],
  metrics: [{ group: "channel", unit: "msg/s" }],
  configs: ({ quick }) =>
    [1, 8].flatMap((producers) =>
      [1, 4, 1024].map(
        (capacity): Config<ChannelParams> => ({
          label: channelLabel(producers, capacity),
          params: {
            n: quick ? 100_000 : 1_000_000,
            producers,
            capacity,
            batch: 256,
            warmup: quick ? 100_000 : 300_000,
            // CPU time each worker spends warming up a configuration (see measureChannel).
            warmupCpuMs: quick ? 300 : 2000,
          },
          ...(capacity === 1024 ? {} : { impls: channelPeers }),
          seconds: quick ? 4 : 14,
        }),
      ),
    ),
  measure: async (impl, params, warm) =>
    (await import("./cases/channel.js")).measureChannel(impl, params, warm),
  targets(f) {
    const out: TargetSpec[] = [];
    for (const producers of [1, 8]) {
      const c1024 = channelLabel(producers, 1024);
      const c4 = channelLabel(producers, 4);
      const fastest =
        f.median("channel", c1024, "PassThrough") >= f.median("channel", c1024, "ReadableStream")
          ? "PassThrough"
          : "ReadableStream";
      out.push({
        name: `channel ${c1024}: grpc-mpsc / fastest backpressured peer (${fastest})`,
        value: f.ratio("channel", c1024, "grpc-mpsc", fastest),
        // The 1.5x goal is for one producer; with 8 the ratio is reported.
        goal: producers === 1 ? goal.atLeast(1.5) : goal.report,
      });
      for (const peer of ["PassThrough", "ReadableStream"]) {
        out.push({
          name: `channel ${c4}: grpc-mpsc / ${peer}`,
          value: f.ratio("channel", c4, "grpc-mpsc", peer),
          goal: goal.above(1),
        });
      }
      out.push({
        name: `channel ${c1024}: batched (recvMany) / array loop`,
        value: f.ratio("channel", c1024, "grpc-mpsc batched", "array loop"),
        goal: goal.atLeast(1 / 3, ">= 1/3"),
      });
    }
    return out;
  },
});

const echoCase = defineCase<{ n: number }>({
  section: "echo",
  title: "grpc echo",
  impls: grpcImpls,
  metrics: [{ group: "grpc echo", unit: "msg/s" }],
  configs: ({ quick }) => {
    const n = quick ? 10_000 : 30_000;
    return [{ label: `1 stream, ${fmt(n)} messages`, params: { n }, seconds: quick ? 8 : 45 }];
  },
  reps: "throughput",
  measure: async (impl, { n }, warm) =>
    (await import("./cases/grpc.js")).echo(asImpl(impl), warm ? Math.max(1000, Math.floor(n / 4)) : n),
  targets: (f, configs) =>
    configs.flatMap((c) => [
      {
        name: "grpc echo: grpc-mpsc / raw grpc-js",
        value: f.ratio("grpc echo", c.label, "grpc-mpsc", "raw grpc-js"),
        goal: goal.atLeast(0.95),
      },
      {
        name: "grpc echo: grpc-mpsc / nice-grpc",
        value: f.ratio("grpc echo", c.label, "grpc-mpsc", "nice-grpc"),
        goal: goal.above(1),
      },
    ]),
});

const pingPongCase = defineCase<{ n: number }>({
  section: "pingpong",
  title: "grpc ping-pong",
  impls: grpcImpls,
  metrics: [
    { group: "grpc ping-pong p50", unit: "µs", figure: "p50" },
    { group: "grpc ping-pong p99", unit: "µs", figure: "p99" },
  ],
  configs: ({ quick }) => {
    const n = quick ? 2000 : 5000;
    return [{ label: `${n} round trips`, params: { n }, seconds: quick ? 4 : 20 }];
  },
  measure: async (impl, { n }, warm) =>
    (await import("./cases/grpc.js")).pingPong(asImpl(impl), warm ? 200 : n),
  targets: (f, configs) =>
    configs.map((c) => ({
      name: "grpc ping-pong p50: grpc-mpsc / raw grpc-js (lower is better)",
      value: f.ratio("grpc ping-pong p50", c.label, "grpc-mpsc", "raw grpc-js"),
      goal: goal.atMost(1.1),
    })),
});

const concurrentCase = defineCase<{ streams: number; n: number }>({
  section: "concurrent",
  title: "grpc concurrent",
  impls: grpcImpls,
  metrics: [{ group: "grpc concurrent", unit: "msg/s" }],
  configs: ({ quick }) => {
    const streams = 200;
    const n = quick ? 50 : 300;
    return [
      { label: `${streams} streams x ${n} messages`, params: { streams, n }, seconds: quick ? 8 : 100 },
    ];
  },
  reps: "throughput",
  measure: async (impl, { streams, n }, warm) =>
    (await import("./cases/grpc.js")).concurrent(asImpl(impl), warm ? 20 : streams, warm ? 50 : n),
  targets: (f, configs) =>
    configs.flatMap((c) =>
      ["raw grpc-js", "nice-grpc"].map((peer) => ({
        name: `grpc ${c.params.streams} streams: grpc-mpsc / ${peer}`,
        value: f.ratio("grpc concurrent", c.label, "grpc-mpsc", peer),
        goal: goal.report,
      })),
    ),
});

/** The slow-reader process's mode argument, by implementation. */
const slowReaderModes: Record<string, string> = {
  "raw grpc-js ignoring write()": "naive",
  "grpc-mpsc": "grpc-mpsc",
};

// Peak RSS needs a fresh process per repetition; it does not depend on timing, so a few run at once.
const slowReader = defineCase<{ n: number }>({
  section: "slow",
  title: "slow reader",
  impls: Object.keys(slowReaderModes),
  metrics: [{ group: "slow reader peak RSS", unit: "MiB" }],
  configs: ({ quick }) => {
    const n = quick ? 10_000 : 100_000;
    return [{ label: `${fmt(n)} x 1 KiB`, params: { n }, seconds: quick ? 8 : 20 }];
  },
  async measure(impl, { n }) {
    const mode = slowReaderModes[impl] ?? impl;
    const out = await runProcess("bench/cases/slow-reader-process.ts", [mode, String(n)]);
    return (out as { peakMiB: number }).peakMiB;
  },
  reps: "memory",
  concurrency: 4,
  targets: (f, configs) =>
    configs.map((c) => ({
      name: "slow reader: grpc-mpsc peak RSS above baseline (MiB)",
      value: f.median("slow reader peak RSS", c.label, "grpc-mpsc"),
      goal: goal.atMost(64),
      chart: false,
    })),
});

/** Every case by name, in the order they run. */
export const cases: Readonly<Record<string, AnyCase>> = {
  channel,
  echo: echoCase,
  pingpong: pingPongCase,
  concurrent: concurrentCase,
  slow: slowReader,
};

/** The sections `--only=` accepts. */
export const sections = (): string[] => [...new Set(Object.values(cases).map((c) => c.section))];

/** Whether a run with these options runs `c`. */
export const selected = (c: AnyCase, run: RunOptions): boolean =>
  run.only === undefined || run.only.includes(c.section);
