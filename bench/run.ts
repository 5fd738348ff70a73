/**
 * `npm run bench` (full, a few minutes) or `npm run bench -- --quick` (same cases, fewer messages,
 * under a minute or so). Each configuration runs in its own process (bench/case.ts: warm-up, then 5
 * repetitions); medians, min and max and the ratios against each peer are printed as tables on stdout
 * (progress on stderr) and written to bench/results/latest.{json,md} and latest.svg.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import type { CaseSpec } from "./case.js";

const quick = process.argv.includes("--quick");
const REPS = 5;
const root = fileURLToPath(new URL("..", import.meta.url));
const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));

interface Stat {
  median: number;
  min: number;
  max: number;
}
const stat = (xs: number[]): Stat => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
  return { median, min: s[0] ?? 0, max: s[s.length - 1] ?? 0 };
};

function runNode(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--expose-gc", "--import", "tsx", ...args],
      { cwd: root, timeout: timeoutMs, maxBuffer: 1 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${args.join(" ")}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

async function runCase(spec: CaseSpec): Promise<{ values?: number[]; p50?: number[]; p99?: number[] }> {
  const out = await runNode(["bench/case.ts", JSON.stringify(spec)], 10 * 60_000);
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as {
    values?: number[];
    p50?: number[];
    p99?: number[];
  };
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const fmt = (x: number, digits = 0): string =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(digits);

/** One measured row: a label, an implementation and its statistics. */
interface Row {
  group: string;
  config: string;
  impl: string;
  unit: string;
  stat: Stat;
}
const rows: Row[] = [];
const record = (group: string, config: string, impl: string, unit: string, values: number[]): Stat => {
  const s = stat(values);
  rows.push({ group, config, impl, unit, stat: s });
  log(
    `  ${group} | ${config} | ${impl}: median ${fmt(s.median, 1)} ${unit} (min ${fmt(s.min, 1)}, max ${fmt(s.max, 1)})`,
  );
  return s;
};

// ---- channel cases -----------------------------------------------------------------------------
const N = quick ? 100_000 : 1_000_000;
const channelImpls = ["grpc-mpsc", "it-pushable", "PassThrough", "ReadableStream", "array loop"];
for (const producers of [1, 8]) {
  for (const capacity of [1, 4, 1024]) {
    const config = `${producers} producer${producers > 1 ? "s" : ""}, capacity ${capacity}`;
    for (const impl of channelImpls) {
      if (impl === "it-pushable" && capacity !== 1024) continue; // no capacity: measured once per producer count
      const spec: CaseSpec = { kind: "channel", impl, n: N, producers, capacity, reps: REPS };
      const { values = [] } = await runCase(spec);
      record("channel", config, impl, "msg/s", values);
    }
    if (capacity === 1024) {
      const { values = [] } = await runCase({
        kind: "channel",
        impl: "grpc-mpsc recvMany",
        n: N,
        producers,
        capacity,
        batch: 256,
        reps: REPS,
      });
      record("channel", config, "grpc-mpsc recvMany", "msg/s", values);
    }
  }
}

// ---- gRPC cases ----------------------------------------------------------------------------------
const grpcImpls = ["grpc-mpsc", "raw grpc-js", "nice-grpc"] as const;
const ECHO_N = quick ? 20_000 : 100_000;
for (const impl of grpcImpls) {
  const { values = [] } = await runCase({ kind: "echo", impl, n: ECHO_N, reps: REPS });
  record("grpc echo", `1 stream, ${fmt(ECHO_N)} messages`, impl, "msg/s", values);
}
const PINGS = quick ? 500 : 2000;
for (const impl of grpcImpls) {
  const { p50 = [], p99 = [] } = await runCase({ kind: "pingpong", impl, n: PINGS, reps: REPS });
  record("grpc ping-pong p50", `${PINGS} round trips`, impl, "µs", p50);
  record("grpc ping-pong p99", `${PINGS} round trips`, impl, "µs", p99);
}
const STREAMS = 200;
const PER_STREAM = quick ? 100 : 1000;
for (const impl of grpcImpls) {
  const { values = [] } = await runCase({
    kind: "concurrent",
    impl,
    streams: STREAMS,
    n: PER_STREAM,
    reps: REPS,
  });
  record("grpc concurrent", `${STREAMS} streams x ${PER_STREAM} messages`, impl, "msg/s", values);
}
const SLOW_N = quick ? 20_000 : 100_000;
for (const mode of ["naive", "grpc-mpsc"]) {
  const peaks: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const out = await runNode(["bench/slow-reader.ts", mode, String(SLOW_N)], 5 * 60_000);
    peaks.push((JSON.parse(out.trim().split("\n").pop() ?? "{}") as { peakMiB: number }).peakMiB);
  }
  record(
    "slow reader peak RSS",
    `${fmt(SLOW_N)} x 1 KiB`,
    mode === "naive" ? "raw grpc-js ignoring write()" : "grpc-mpsc",
    "MiB",
    peaks,
  );
}

// ---- ratios and targets ------------------------------------------------------------------------
const med = (group: string, config: string, impl: string): number =>
  rows.find((r) => r.group === group && r.config === config && r.impl === impl)?.stat.median ?? Number.NaN;

interface Target {
  name: string;
  ratio: number;
  goal: string;
  met: boolean;
}
const targets: Target[] = [];
const target = (name: string, ratio: number, goal: string, met: boolean): void => {
  targets.push({ name, ratio, goal, met });
};
for (const producers of [1, 8]) {
  const p = `${producers} producer${producers > 1 ? "s" : ""}`;
  const c1024 = `${p}, capacity 1024`;
  const c4 = `${p}, capacity 4`;
  const best = Math.max(med("channel", c1024, "PassThrough"), med("channel", c1024, "ReadableStream"));
  target(
    `channel ${c1024}: grpc-mpsc / fastest backpressured peer`,
    med("channel", c1024, "grpc-mpsc") / best,
    ">= 1.5",
    med("channel", c1024, "grpc-mpsc") / best >= 1.5,
  );
  for (const peer of ["PassThrough", "ReadableStream"]) {
    const r = med("channel", c4, "grpc-mpsc") / med("channel", c4, peer);
    target(`channel ${c4}: grpc-mpsc / ${peer}`, r, "> 1", r > 1);
  }
  const rm = med("channel", c1024, "grpc-mpsc recvMany") / med("channel", c1024, "array loop");
  target(`channel ${c1024}: recvMany / array loop`, rm, ">= 1/3", rm >= 1 / 3);
}
const echoCfg = `1 stream, ${fmt(ECHO_N)} messages`;
const echoRaw = med("grpc echo", echoCfg, "grpc-mpsc") / med("grpc echo", echoCfg, "raw grpc-js");
target("grpc echo: grpc-mpsc / raw grpc-js", echoRaw, ">= 0.95", echoRaw >= 0.95);
const echoNice = med("grpc echo", echoCfg, "grpc-mpsc") / med("grpc echo", echoCfg, "nice-grpc");
target("grpc echo: grpc-mpsc / nice-grpc", echoNice, "> 1", echoNice > 1);
const pingCfg = `${PINGS} round trips`;
const lat =
  med("grpc ping-pong p50", pingCfg, "grpc-mpsc") / med("grpc ping-pong p50", pingCfg, "raw grpc-js");
target("grpc ping-pong p50: grpc-mpsc / raw grpc-js (lower is better)", lat, "<= 1.1", lat <= 1.1);
const concCfg = `${STREAMS} streams x ${PER_STREAM} messages`;
const conc = med("grpc concurrent", concCfg, "grpc-mpsc") / med("grpc concurrent", concCfg, "raw grpc-js");
target("grpc 200 streams: grpc-mpsc / raw grpc-js", conc, "(report)", true);
const slowCfg = `${fmt(SLOW_N)} x 1 KiB`;
const ours = med("slow reader peak RSS", slowCfg, "grpc-mpsc");
target("slow reader: grpc-mpsc peak RSS above baseline (MiB)", ours, "<= 64", ours <= 64);

// ---- output ----------------------------------------------------------------------------------------
const groups = [...new Set(rows.map((r) => r.group))];
const lines: string[] = [];
lines.push(`# grpc-mpsc benchmarks${quick ? " (quick)" : ""}`, "");
lines.push(
  `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"} · medians of ${REPS} runs (min–max)`,
  "",
);
for (const group of groups) {
  const g = rows.filter((r) => r.group === group);
  const impls = [...new Set(g.map((r) => r.impl))];
  const ref = impls[0] ?? "";
  lines.push(`## ${group} (${g[0]?.unit})`, "");
  lines.push(`| config | ${impls.join(" | ")} |`, `| --- | ${impls.map(() => "---").join(" | ")} |`);
  for (const config of [...new Set(g.map((r) => r.config))]) {
    const cells = impls.map((impl) => {
      const r = g.find((x) => x.config === config && x.impl === impl);
      if (!r) return "";
      const ratio = impl === ref ? "" : ` (${ref} ×${(med(group, config, ref) / r.stat.median).toFixed(2)})`;
      return `${fmt(r.stat.median, 1)} (${fmt(r.stat.min, 1)}–${fmt(r.stat.max, 1)})${ratio}`;
    });
    lines.push(`| ${config} | ${cells.join(" | ")} |`);
  }
  lines.push("");
}
lines.push("## targets", "", "| target | measured | goal | met |", "| --- | --- | --- | --- |");
for (const t of targets)
  lines.push(`| ${t.name} | ${t.ratio.toFixed(2)} | ${t.goal} | ${t.met ? "yes" : "**no**"} |`);
lines.push("");
const markdown = lines.join("\n");
process.stdout.write(`${markdown}\n`);

// A horizontal bar chart of the ratios (grpc-mpsc over each peer), with a line at 1.
const bars = targets.filter((t) => !t.name.includes("RSS"));
const W = 900;
const rowH = 26;
const left = 470;
const maxRatio = Math.max(2, ...bars.map((b) => b.ratio));
const x = (r: number): number => left + ((W - left - 40) * r) / maxRatio;
const svg = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${bars.length * rowH + 50}" font-family="sans-serif" font-size="12">`,
  `<text x="10" y="18" font-size="14" font-weight="bold">grpc-mpsc: ratios against peers (same run${quick ? ", quick" : ""})</text>`,
  ...bars.map((b, i) => {
    const y = 30 + i * rowH;
    const color = b.met ? "#2e7d32" : "#c62828";
    return [
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${b.name.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(b.ratio) - left)}" height="16" fill="${color}"/>`,
      `<text x="${x(b.ratio) + 4}" y="${y + 15}">${b.ratio.toFixed(2)}</text>`,
    ].join("");
  }),
  `<line x1="${x(1)}" y1="26" x2="${x(1)}" y2="${bars.length * rowH + 34}" stroke="#333" stroke-dasharray="4 3"/>`,
  "</svg>",
].join("\n");

mkdirSync(resultsDir, { recursive: true });
writeFileSync(`${resultsDir}latest.md`, markdown);
writeFileSync(`${resultsDir}latest.svg`, svg);
writeFileSync(
  `${resultsDir}latest.json`,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, reps: REPS, rows, targets }, null, 2)}\n`,
);
log(`wrote ${resultsDir}latest.{json,md,svg}`);
