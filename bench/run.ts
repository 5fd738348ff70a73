/**
 * `npm run bench` (full, a few minutes) or `npm run bench -- --quick` (same cases, fewer messages,
 * under a minute). Each implementation of a configuration runs in its own worker process
 * (bench/case.ts), so implementations share no JIT state or heap. The workers of one configuration
 * warm up together, then run their repetitions interleaved, one at a time, in rounds whose order
 * rotates: a burst of noise on this shared machine slows every implementation's round alike instead of
 * one implementation's whole block. Medians, min and max and the ratios against each peer are printed
 * as tables on stdout (progress on stderr) and written to bench/results/latest.{json,md,svg} (a quick
 * run: quick.{json,md,svg}, so that it never replaces the full run's figures).
 */
import { type ChildProcess, execFile, fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import PQueue from "p-queue";
import type { CaseResult, CaseSpec, FromWorker, ToWorker } from "./case.js";
import { pairedRatio, type Stat, stat } from "./stats.js";

const quick = process.argv.includes("--quick");
const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
/** `--only=channel,fanout,echo,pingpong,concurrent,slow`: run those sections only (results are not saved). */
const only = arg("only")?.split(",");
const runs = (section: string): boolean => only === undefined || only.includes(section);
/**
 * Repetitions per configuration: 5, and 9 for the gRPC throughput cases of the full run, whose noise
 * comes in bursts of seconds. `--reps=N` sets every count (results are not saved).
 */
const REPS = Number(arg("reps") ?? 5);
const GRPC_REPS = arg("reps") === undefined && !quick ? 9 : REPS;
if (!Number.isInteger(REPS) || REPS < 1)
  throw new RangeError(`--reps must be an integer >= 1, got ${arg("reps")}`);
const partial = only !== undefined || arg("reps") !== undefined;
const root = fileURLToPath(new URL("..", import.meta.url));
const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const NODE_ARGS = ["--expose-gc", "--import", "tsx"];
/** No single step (a warm-up or one repetition) may take longer than this. */
const STEP_TIMEOUT_MS = 5 * 60_000;

/** A forked bench/case.ts running one implementation's cases: `next()` waits for its next answer. */
class Worker {
  readonly #child: ChildProcess;
  #waiting: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined;
  #exited: Error | undefined;
  #spec: CaseSpec | undefined;

  constructor(readonly impl: string) {
    this.#child = fork(fileURLToPath(new URL("./case.ts", import.meta.url)), [], {
      cwd: root,
      execArgv: NODE_ARGS,
      // The worker's stdout goes to our stderr: stdout is for the result tables.
      stdio: ["ignore", 2, "inherit", "ipc"],
    });
    this.#child.on("message", (m: FromWorker) => {
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.resolve(m);
    });
    this.#child.on("exit", (code, signal) => {
      this.#exited = new Error(`${impl}: worker exited (${code ?? signal})`);
      this.#waiting?.reject(this.#exited);
      this.#waiting = undefined;
    });
  }

  /** Sends `message` and waits for the worker's answer. */
  #ask(message: ToWorker): Promise<FromWorker> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise<FromWorker>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#child.kill();
        reject(new Error(`${this.impl} ${this.#spec?.kind}: no answer in ${STEP_TIMEOUT_MS} ms`));
      }, STEP_TIMEOUT_MS);
      this.#waiting = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#child.send(message);
    });
  }

  /** Loads and warms up a case. */
  async load(spec: CaseSpec): Promise<void> {
    this.#spec = spec;
    await this.#ask({ load: spec });
  }

  /** One measured repetition of the loaded case. */
  async run(): Promise<CaseResult> {
    const m = await this.#ask("run");
    if (!("result" in m)) throw new Error(`${this.impl}: unexpected ${JSON.stringify(m)}`);
    return m.result;
  }

  stop(): void {
    if (this.#exited === undefined && this.#child.connected) this.#child.send("exit");
    setTimeout(() => this.#child.kill(), 5000).unref();
  }
}

/** One worker per implementation, started on first use and reused by later configurations. */
const workers = new Map<string, Worker>();
const workerFor = (impl: string): Worker => {
  let w = workers.get(impl);
  if (w === undefined) {
    w = new Worker(impl);
    workers.set(impl, w);
  }
  return w;
};

/**
 * Runs the implementations of one configuration side by side: each warms up (all at once), then
 * `reps` rounds in which each runs one repetition, alone, in an order that rotates by one each round.
 */
async function compare(specs: CaseSpec[], reps = REPS): Promise<CaseResult[][]> {
  const ws = specs.map((spec) => workerFor(spec.impl));
  await Promise.all(ws.map((w, i) => w.load(specs[i] as CaseSpec)));
  const results: CaseResult[][] = ws.map(() => []);
  for (let round = 0; round < reps; round++) {
    for (let k = 0; k < ws.length; k++) {
      const i = (k + round) % ws.length;
      results[i]?.push(await (ws[i] as Worker).run());
    }
  }
  return results;
}

const rates = (results: CaseResult[]): number[] => results.map((r) => (typeof r === "number" ? r : r.p50));

function runNode(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...NODE_ARGS, ...args],
      { cwd: root, timeout: timeoutMs, maxBuffer: 1 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${args.join(" ")}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

const began = performance.now();
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
/** A progress line for a new section, with the time since the start. */
const section = (line: string): void => log(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${line}`);
const fmt = (x: number, digits = 0): string =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(digits);

/** One measured row: a label, an implementation and its statistics. */
interface Row {
  group: string;
  config: string;
  impl: string;
  unit: string;
  stat: Stat;
  /** Every repetition, in round order: `values[r]` of two rows of a configuration ran in the same round. */
  values: number[];
}
const rows: Row[] = [];
const record = (group: string, config: string, impl: string, unit: string, values: number[]): Stat => {
  const s = stat(values);
  rows.push({ group, config, impl, unit, stat: s, values });
  log(
    `  ${group} | ${config} | ${impl}: median ${fmt(s.median, 1)} ${unit} (min ${fmt(s.min, 1)}, max ${fmt(s.max, 1)})`,
  );
  return s;
};

// ---- channel cases -----------------------------------------------------------------------------
const N = quick ? 100_000 : 1_000_000;
const WARMUP = quick ? 100_000 : 300_000;
/** CPU time each channel worker spends warming up a configuration (see bench/case.ts). */
const WARMUP_CPU_MS = quick ? 300 : 2000;
for (const producers of runs("channel") ? [1, 8] : []) {
  for (const capacity of [1, 4, 1024]) {
    const config = `${producers} producer${producers > 1 ? "s" : ""}, capacity ${capacity}`;
    section(`channel: ${config}`);
    const impls = ["grpc-mpsc", "PassThrough", "ReadableStream", "array loop"];
    // it-pushable has no capacity: measured once per producer count; batched: eager producers, recvMany(256).
    if (capacity === 1024) impls.push("it-pushable", "grpc-mpsc batched");
    const specs = impls.map(
      (impl): CaseSpec => ({
        kind: "channel",
        impl,
        n: N,
        producers,
        capacity,
        batch: 256,
        warmup: WARMUP,
        warmupCpuMs: WARMUP_CPU_MS,
      }),
    );
    const results = await compare(specs);
    impls.forEach((impl, i) => {
      record("channel", config, impl, "msg/s", rates(results[i] ?? []));
    });
  }
}

// ---- fan-out cases (bench/fanout-cases.ts) -------------------------------------------------------
const FANOUT_DELIVERIES = quick ? 2_000_000 : 10_000_000;
const fanoutImpls = ["broadcast", "broadcast tryRecv", "EventEmitter", "channel per receiver"];
for (const receivers of runs("fanout") ? [1, 100, 1000] : []) {
  const config = `${receivers} receiver${receivers > 1 ? "s" : ""}`;
  section(`fanout: ${config}`);
  const n = Math.max(1000, Math.floor(FANOUT_DELIVERIES / receivers));
  const specs = fanoutImpls.map((impl): CaseSpec => ({ kind: "fanout", impl, n, receivers, capacity: 1024 }));
  const results = await compare(specs);
  fanoutImpls.forEach((impl, i) => {
    record("fanout", config, impl, "msg/s", rates(results[i] ?? []));
  });
}

// ---- gRPC cases ----------------------------------------------------------------------------------
const grpcImpls = ["grpc-mpsc", "raw grpc-js", "nice-grpc"] as const;
const ECHO_N = quick ? 10_000 : 30_000;
if (runs("echo")) {
  const config = `1 stream, ${fmt(ECHO_N)} messages`;
  section(`grpc echo: ${config}`);
  const results = await compare(
    grpcImpls.map((impl): CaseSpec => ({ kind: "echo", impl, n: ECHO_N })),
    GRPC_REPS,
  );
  grpcImpls.forEach((impl, i) => {
    record("grpc echo", config, impl, "msg/s", rates(results[i] ?? []));
  });
}
const PINGS = quick ? 2000 : 5000;
if (runs("pingpong")) {
  const config = `${PINGS} round trips`;
  section(`grpc ping-pong: ${config}`);
  const results = await compare(grpcImpls.map((impl): CaseSpec => ({ kind: "pingpong", impl, n: PINGS })));
  grpcImpls.forEach((impl, i) => {
    const lat = (results[i] ?? []) as { p50: number; p99: number }[];
    record(
      "grpc ping-pong p50",
      config,
      impl,
      "µs",
      lat.map((x) => x.p50),
    );
    record(
      "grpc ping-pong p99",
      config,
      impl,
      "µs",
      lat.map((x) => x.p99),
    );
  });
}
const STREAMS = 200;
const PER_STREAM = quick ? 50 : 300;
if (runs("concurrent")) {
  const config = `${STREAMS} streams x ${PER_STREAM} messages`;
  section(`grpc concurrent: ${config}`);
  const results = await compare(
    grpcImpls.map((impl): CaseSpec => ({ kind: "concurrent", impl, streams: STREAMS, n: PER_STREAM })),
    GRPC_REPS,
  );
  grpcImpls.forEach((impl, i) => {
    record("grpc concurrent", config, impl, "msg/s", rates(results[i] ?? []));
  });
}
// Peak RSS needs a fresh process per repetition; it does not depend on timing, so a few run at once.
const SLOW_N = quick ? 10_000 : 100_000;
if (runs("slow")) {
  section(`slow reader: ${fmt(SLOW_N)} x 1 KiB`);
  const queue = new PQueue({ concurrency: 4 });
  const peaks = async (mode: string): Promise<number[]> =>
    Promise.all(
      Array.from({ length: REPS }, () =>
        queue.add(async () => {
          const out = await runNode(["bench/slow-reader.ts", mode, String(SLOW_N)], STEP_TIMEOUT_MS);
          return (JSON.parse(out.trim().split("\n").pop() ?? "{}") as { peakMiB: number }).peakMiB;
        }),
      ),
    );
  const [naive, ours] = await Promise.all([peaks("naive"), peaks("grpc-mpsc")]);
  record("slow reader peak RSS", `${fmt(SLOW_N)} x 1 KiB`, "raw grpc-js ignoring write()", "MiB", naive);
  record("slow reader peak RSS", `${fmt(SLOW_N)} x 1 KiB`, "grpc-mpsc", "MiB", ours);
}
for (const w of workers.values()) w.stop();
log(`all cases in ${((performance.now() - began) / 1000).toFixed(1)} s`);

// ---- ratios and targets ------------------------------------------------------------------------
const row = (group: string, config: string, impl: string): Row | undefined =>
  rows.find((r) => r.group === group && r.config === config && r.impl === impl);
/**
 * `a / b` for one configuration: the median over rounds of the ratio of the two repetitions that ran in
 * the same round (seconds apart), so that a burst of noise on the machine divides out. NaN if either
 * did not run.
 */
const ratio = (group: string, config: string, a: string, b: string): number => {
  const x = row(group, config, a)?.values;
  const y = row(group, config, b)?.values;
  if (x === undefined || y === undefined) return Number.NaN;
  return pairedRatio(x, y);
};
const med = (group: string, config: string, impl: string): number =>
  row(group, config, impl)?.stat.median ?? Number.NaN;

interface Target {
  name: string;
  ratio: number;
  goal: string;
  met: boolean;
}
const targets: Target[] = [];
const target = (name: string, ratio: number, goal: string, met: boolean): void => {
  if (!Number.isNaN(ratio)) targets.push({ name, ratio, goal, met }); // NaN: a section that did not run
};
for (const producers of [1, 8]) {
  const p = `${producers} producer${producers > 1 ? "s" : ""}`;
  const c1024 = `${p}, capacity 1024`;
  const c4 = `${p}, capacity 4`;
  const fastest =
    med("channel", c1024, "PassThrough") >= med("channel", c1024, "ReadableStream")
      ? "PassThrough"
      : "ReadableStream";
  const lead = ratio("channel", c1024, "grpc-mpsc", fastest);
  const name = `channel ${c1024}: grpc-mpsc / fastest backpressured peer (${fastest})`;
  // The issue sets the 1.5x goal for one producer; with 8 the ratio is reported.
  if (producers === 1) target(name, lead, ">= 1.5", lead >= 1.5);
  else target(name, lead, "(report)", true);
  for (const peer of ["PassThrough", "ReadableStream"]) {
    const r = ratio("channel", c4, "grpc-mpsc", peer);
    target(`channel ${c4}: grpc-mpsc / ${peer}`, r, "> 1", r > 1);
  }
  const rm = ratio("channel", c1024, "grpc-mpsc batched", "array loop");
  target(`channel ${c1024}: batched (recvMany) / array loop`, rm, ">= 1/3", rm >= 1 / 3);
}
for (const impl of ["broadcast tryRecv", "broadcast"]) {
  const r = ratio("fanout", "100 receivers", impl, "EventEmitter");
  // The goal: broadcast within 2x of EventEmitter.emit at 100 receivers.
  target(
    `fanout 100 receivers: ${impl} / EventEmitter`,
    r,
    impl === "broadcast" ? "(report)" : ">= 0.5",
    r >= 0.5,
  );
}
const echoCfg = `1 stream, ${fmt(ECHO_N)} messages`;
const echoRaw = ratio("grpc echo", echoCfg, "grpc-mpsc", "raw grpc-js");
target("grpc echo: grpc-mpsc / raw grpc-js", echoRaw, ">= 0.95", echoRaw >= 0.95);
const echoNice = ratio("grpc echo", echoCfg, "grpc-mpsc", "nice-grpc");
target("grpc echo: grpc-mpsc / nice-grpc", echoNice, "> 1", echoNice > 1);
const pingCfg = `${PINGS} round trips`;
const lat = ratio("grpc ping-pong p50", pingCfg, "grpc-mpsc", "raw grpc-js");
target("grpc ping-pong p50: grpc-mpsc / raw grpc-js (lower is better)", lat, "<= 1.1", lat <= 1.1);
const concCfg = `${STREAMS} streams x ${PER_STREAM} messages`;
const conc = ratio("grpc concurrent", concCfg, "grpc-mpsc", "raw grpc-js");
target("grpc 200 streams: grpc-mpsc / raw grpc-js", conc, "(report)", true);
const concNice = ratio("grpc concurrent", concCfg, "grpc-mpsc", "nice-grpc");
target("grpc 200 streams: grpc-mpsc / nice-grpc", concNice, "(report)", true);
const slowCfg = `${fmt(SLOW_N)} x 1 KiB`;
const ours = med("slow reader peak RSS", slowCfg, "grpc-mpsc");
target("slow reader: grpc-mpsc peak RSS above baseline (MiB)", ours, "<= 64", ours <= 64);

// ---- output ----------------------------------------------------------------------------------------
const groups = [...new Set(rows.map((r) => r.group))];
const lines: string[] = [];
lines.push(`# grpc-mpsc benchmarks${quick ? " (quick)" : ""}`, "");
lines.push(
  `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"} · medians of ${REPS} runs (${GRPC_REPS} for gRPC throughput), min–max; ratios are medians of same-round ratios`,
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
      const vs = impl === ref ? "" : ` (${ref} ×${ratio(group, config, ref, impl).toFixed(2)})`;
      return `${fmt(r.stat.median, 1)} (${fmt(r.stat.min, 1)}–${fmt(r.stat.max, 1)})${vs}`;
    });
    lines.push(`| ${config} | ${cells.join(" | ")} |`);
  }
  lines.push("");
}
lines.push("## targets", "", "| target | measured | goal | met |", "| --- | --- | --- | --- |");
for (const t of targets)
  lines.push(
    `| ${t.name} | ${t.ratio.toFixed(2)} | ${t.goal} | ${t.goal === "(report)" ? "—" : t.met ? "yes" : "**no**"} |`,
  );
lines.push("");
const markdown = lines.join("\n");
process.stdout.write(`${markdown}\n`);

// A horizontal bar chart of the ratios (grpc-mpsc over each peer), with a line at 1.
const bars = targets.filter((t) => !t.name.includes("RSS"));
const rowH = 26;
// Room for the longest label (about 6.6 px per character at 12 px sans-serif).
const left = Math.max(300, 20 + Math.ceil(6.6 * Math.max(...bars.map((b) => b.name.length))));
const W = left + 380;
const maxRatio = Math.max(2, ...bars.map((b) => b.ratio));
const x = (r: number): number => left + ((W - left - 40) * r) / maxRatio;
const svg = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${bars.length * rowH + 50}" font-family="sans-serif" font-size="12">`,
  `<text x="10" y="18" font-size="14" font-weight="bold">grpc-mpsc: ratios against peers (same run${quick ? ", quick" : ""})</text>`,
  ...bars.map((b, i) => {
    const y = 30 + i * rowH;
    const color = b.goal === "(report)" ? "#757575" : b.met ? "#2e7d32" : "#c62828";
    return [
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${b.name.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(b.ratio) - left)}" height="16" fill="${color}"/>`,
      `<text x="${x(b.ratio) + 4}" y="${y + 15}">${b.ratio.toFixed(2)}</text>`,
    ].join("");
  }),
  `<line x1="${x(1)}" y1="26" x2="${x(1)}" y2="${bars.length * rowH + 34}" stroke="#333" stroke-dasharray="4 3"/>`,
  "</svg>",
].join("\n");

if (partial) {
  log("--only or --reps: results not saved");
  process.exit(0);
}
mkdirSync(resultsDir, { recursive: true });
const base = `${resultsDir}${quick ? "quick" : "latest"}`;
writeFileSync(`${base}.md`, markdown);
writeFileSync(`${base}.svg`, svg);
writeFileSync(
  `${base}.json`,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, reps: REPS, rows, targets }, null, 2)}\n`,
);
log(`wrote ${base}.{json,md,svg}`);
