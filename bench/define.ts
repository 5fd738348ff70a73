/**
 * What a benchmark case is. Every case is one {@link BenchCase} in `bench/registry.ts`; the runner
 * plans, measures, tabulates and charts from those entries alone.
 */
import type { RepsKind, RunOptions } from "./cli.js";

/** One repetition's measurement: a number, or named figures (a latency's `p50` and `p99`). */
export type Sample = number | { readonly [figure: string]: number };

/** A table of the report, filled from one figure of every sample. */
export interface Metric {
  /** The table's name, e.g. `"grpc echo"`; several cases may write to one table. */
  readonly group: string;
  /** The figure's unit, e.g. `"msg/s"`. */
  readonly unit: string;
  /** The figure taken from an object sample; omitted when the samples are numbers. */
  readonly figure?: string;
}

/** One configuration of a case: a row of its tables. */
export interface Config<P> {
  /** The row's label, e.g. `"1 stream, 30.0k messages"`. */
  readonly label: string;
  /** What `measure` is given; it crosses to the worker over IPC, so plain data only. */
  readonly params: P;
  /** The implementations compared in this row, when not all of the case's. */
  readonly impls?: readonly string[];
  /** Its kind of repetition count, when not the case's. */
  readonly reps?: RepsKind;
  /** Rough seconds this configuration takes on this machine (warm-up and every round), for the time-left estimate. */
  readonly seconds: number;
}

/** The ratios and medians of the finished run, for a case's targets. */
export interface Figures {
  /** `a / b` in one configuration: the median of same-round ratios; NaN if either did not run. */
  ratio(group: string, config: string, a: string, b: string): number;
  /** The median of one implementation in one configuration; NaN if it did not run. */
  median(group: string, config: string, impl: string): number;
}

/** A goal: a target is met when `met(value)`; `undefined` reports the value without a goal. */
export type Goal = { readonly text: string; met(value: number): boolean } | undefined;

/** A ratio (or a figure) that the report lists in its targets table and checks against a goal. */
export interface TargetSpec {
  readonly name: string;
  /** NaN when a configuration it needs did not run: the target is then left out. */
  readonly value: number;
  readonly goal: Goal;
  /** Whether the chart of ratios shows it (default true; false for a figure that is not a ratio). */
  readonly chart?: boolean;
}

/** Goals in the form the report prints them. */
export const goal = {
  atLeast: (x: number, text = `>= ${x}`): Goal => ({ text, met: (v) => v >= x }),
  above: (x: number): Goal => ({ text: `> ${x}`, met: (v) => v > x }),
  atMost: (x: number): Goal => ({ text: `<= ${x}`, met: (v) => v <= x }),
  report: undefined as Goal,
};

/** A benchmark case: what it compares, in which configurations, how one repetition runs. */
export interface BenchCase<P> {
  /** The name `--only=` selects it by; several cases may share one. */
  readonly section: string;
  /** A short title for progress lines. */
  readonly title: string;
  /** The implementations compared; the first is the one each table's ratios are of. */
  readonly impls: readonly string[];
  /** The tables its samples fill. */
  readonly metrics: readonly Metric[];
  /** The configurations of this run (fewer messages with `--quick`). */
  configs(run: RunOptions): readonly Config<P>[];
  /**
   * Repetitions per configuration (bench/cli.ts): `"default"`; `"throughput"` for gRPC rates, whose
   * noise comes in bursts of seconds; `"few"` for a figure that hardly varies and costs seconds.
   */
  readonly reps?: RepsKind;
  /**
   * One repetition of `impl` (or with `warm`, the warm-up before the first one). It runs in a worker
   * process of that implementation (bench/worker.ts), one at a time, unless `concurrency` is set.
   */
  measure(impl: string, params: P, warm: boolean): Promise<Sample>;
  /**
   * For a figure that does not depend on timing and needs a fresh process per repetition (peak RSS,
   * heap): `measure` runs in the runner (and spawns that process), no warm-up, `concurrency`
   * repetitions at once; such cases run after the timed ones, all at the same time.
   */
  readonly concurrency?: number;
  /** The ratios this case contributes to the targets table and the chart. */
  targets?(figures: Figures, configs: readonly Config<P>[]): readonly TargetSpec[];
}

/** A case of any parameters, as the registry holds it. */
export type AnyCase = BenchCase<unknown>;

/**
 * Type-checks one case against its own parameters and erases them for the registry: a case only ever
 * receives the parameters its own `configs` made.
 */
export function defineCase<P>(c: BenchCase<P>): AnyCase {
  return c as unknown as AnyCase;
}
