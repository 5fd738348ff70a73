/**
 * `npm run bench` (full, a few minutes) or `npm run bench -- --quick` (same cases, fewer messages,
 * under a minute); `--only=section,...` and `--reps=N` narrow a run (printed, not saved). The method
 * is in bench/README.md; the cases are in bench/registry.ts.
 *
 * Each implementation runs in its own worker process (bench/pool.ts), rounds interleaved. Medians,
 * min and max and the ratios against each peer are printed as tables on stdout (progress on stderr)
 * and written to bench/results/latest.{json,md,svg} (a quick run: quick.{json,md,svg}, so that it
 * never replaces the full run's figures).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { chart } from "./chart.js";
import { parseArgs } from "./cli.js";
import type { Sample } from "./define.js";
import { concurrently, Pool } from "./pool.js";
import { Progress } from "./progress.js";
import { cases, sections, selected } from "./registry.js";
import { fmt, Results } from "./report.js";

const run = parseArgs(process.argv.slice(2));
const unknown = run.only?.filter((s) => !sections().includes(s)) ?? [];
if (unknown.length > 0) {
  throw new RangeError(`--only: no section ${unknown.join(", ")}; the sections are ${sections().join(", ")}`);
}
const plan = Object.entries(cases).filter(([, c]) => selected(c, run));

const steps = plan.flatMap(([name, c]) =>
  c.configs(run).map((config) => ({
    name,
    c,
    config,
    label: `${c.title}: ${config.label}`,
    seconds: config.seconds,
    reps: run.reps[config.reps ?? c.reps ?? "default"],
    impls: config.impls ?? c.impls,
  })),
);
type Step = (typeof steps)[number];
// Timed configurations run one after another in the worker pool. The cases that run as processes of
// their own measure what timing does not change (peak RSS, heap): they all run at once, at the end.
const timed = steps.filter((s) => s.c.concurrency === undefined);
const apart = steps.filter((s) => s.c.concurrency !== undefined);
const together = {
  label: `${apart.map((s) => s.label).join("; ")} (processes of their own, at once)`,
  seconds: Math.max(0, ...apart.map((s) => s.seconds), apart.reduce((sum, s) => sum + s.seconds, 0) / 2),
};
const progress = new Progress(apart.length > 0 ? [...timed, together] : timed);
const log = (line: string): void => progress.log(line);

/** The figure a metric takes from a sample. */
const figureOf = (s: Sample, figure: string | undefined): number =>
  typeof s === "number" ? s : (s[figure ?? ""] ?? Number.NaN);

const results = new Results();
/** Records a configuration's samples (per implementation, in round order) in each of its tables. */
const record = ({ c, config, impls }: Step, samples: Sample[][]): void => {
  for (const m of c.metrics) {
    impls.forEach((impl, i) => {
      const values = (samples[i] ?? []).map((s) => figureOf(s, m.figure));
      const s = results.record(m.group, config.label, impl, m.unit, values);
      log(
        `  ${m.group} | ${config.label} | ${impl}: median ${fmt(s.median, 1)} ${m.unit} (min ${fmt(s.min, 1)}, max ${fmt(s.max, 1)})`,
      );
    });
  }
};

const pool = new Pool();
try {
  for (const step of timed) {
    const { name, config, impls, reps } = step;
    progress.begin(step);
    // The warm-up counts as one more round of work.
    const samples = await pool.compare(name, config.params, impls, reps, (r) =>
      progress.at(r === 0 ? "warm-up" : `round ${r}/${reps}`, r / (reps + 1)),
    );
    record(step, samples);
  }
} finally {
  progress.end();
  await pool.stop();
}
if (apart.length > 0) {
  progress.begin(together);
  const total = apart.reduce((sum, s) => sum + s.reps * s.impls.length, 0);
  let done = 0;
  progress.at(`0/${total} runs done`, 0);
  const samples = await Promise.all(
    apart.map(({ c, config, impls, reps }) =>
      concurrently(
        (impl) => c.measure(impl, config.params, false),
        impls,
        reps,
        c.concurrency ?? 1,
        () => {
          done++;
          progress.at(`${done}/${total} runs done`, done / total);
        },
      ),
    ),
  );
  progress.end();
  apart.forEach((step, i) => {
    record(step, samples[i] ?? []);
  });
}
log(`all cases in ${progress.elapsed().toFixed(1)} s`);
for (const [, c] of plan) results.addTargets(c.targets?.(results, c.configs(run)) ?? []);

const markdown = results.markdown(
  `grpc-mpsc benchmarks${run.quick ? " (quick)" : ""}`,
  `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"} · medians of ${run.reps.default} runs (${run.reps.throughput} for gRPC throughput, ${run.reps.few} for memory figures), min–max; ratios are medians of same-round ratios`,
);
process.stdout.write(`${markdown}\n`);

if (run.partial) {
  log("--only or --reps: results not saved");
  process.exit(0);
}
const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
mkdirSync(resultsDir, { recursive: true });
const base = `${resultsDir}${run.quick ? "quick" : "latest"}`;
writeFileSync(`${base}.md`, markdown);
writeFileSync(`${base}.svg`, chart(results.charted, run.quick));
writeFileSync(
  `${base}.json`,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      quick: run.quick,
      reps: run.reps,
      rows: results.rows,
      targets: results.targets,
    },
    null,
    2,
  )}\n`,
);
log(`wrote ${base}.{json,md,svg}`);
