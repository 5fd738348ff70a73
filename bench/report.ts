/**
 * The run's figures: every repetition of every implementation, the ratios between them (medians of
 * same-round ratios), the targets, and the Markdown report.
 */
import type { Figures, TargetSpec } from "./define.js";
import { pairedRatio, type Stat, stat } from "./stats.js";

/** `1234567` as `1.23M`, `12345` as `12.3k`; smaller numbers with `digits` decimals. */
export const fmt = (x: number, digits = 0): string =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(digits);

/** One measured row: a label, an implementation and its statistics. */
export interface Row {
  group: string;
  config: string;
  impl: string;
  unit: string;
  stat: Stat;
  /** Every repetition, in round order: `values[r]` of two rows of a configuration ran in the same round. */
  values: number[];
}

/** A target as reported: its measured ratio (or figure), its goal and whether it is met. */
export interface Target {
  name: string;
  ratio: number;
  /** E.g. `">= 0.95"`; `"(report)"` for a figure without a goal. */
  goal: string;
  met: boolean;
}

/** The figures of one run, as they come in. */
export class Results implements Figures {
  readonly rows: Row[] = [];
  readonly targets: Target[] = [];
  /** The targets the chart shows (ratios, not figures in their own units). */
  readonly charted: Target[] = [];

  /** Adds one row; returns its statistics. */
  record(group: string, config: string, impl: string, unit: string, values: number[]): Stat {
    const s = stat(values);
    this.rows.push({ group, config, impl, unit, stat: s, values });
    return s;
  }

  #row(group: string, config: string, impl: string): Row | undefined {
    return this.rows.find((r) => r.group === group && r.config === config && r.impl === impl);
  }

  /**
   * `a / b` for one configuration: the median over rounds of the ratio of the two repetitions that ran
   * in the same round (seconds apart), so that a burst of noise on the machine divides out. NaN if
   * either did not run.
   */
  ratio(group: string, config: string, a: string, b: string): number {
    const x = this.#row(group, config, a)?.values;
    const y = this.#row(group, config, b)?.values;
    if (x === undefined || y === undefined) return Number.NaN;
    return pairedRatio(x, y);
  }

  median(group: string, config: string, impl: string): number {
    return this.#row(group, config, impl)?.stat.median ?? Number.NaN;
  }

  /** Adds targets; one whose value is NaN (a section that did not run) is left out. */
  addTargets(specs: readonly TargetSpec[]): void {
    for (const t of specs) {
      if (Number.isNaN(t.value)) continue;
      const target: Target = {
        name: t.name,
        ratio: t.value,
        goal: t.goal?.text ?? "(report)",
        met: t.goal?.met(t.value) ?? true,
      };
      this.targets.push(target);
      if (t.chart !== false) this.charted.push(target);
    }
  }

  /** The report: one table per group (each cell with its ratio to the group's first implementation), then the targets. */
  markdown(title: string, subtitle: string): string {
    const lines: string[] = [`# ${title}`, "", subtitle, ""];
    for (const group of [...new Set(this.rows.map((r) => r.group))]) {
      const g = this.rows.filter((r) => r.group === group);
      const impls = [...new Set(g.map((r) => r.impl))];
      const ref = impls[0] ?? "";
      lines.push(`## ${group} (${g[0]?.unit})`, "");
      lines.push(`| config | ${impls.join(" | ")} |`, `| --- | ${impls.map(() => "---").join(" | ")} |`);
      for (const config of [...new Set(g.map((r) => r.config))]) {
        const cells = impls.map((impl) => {
          const r = g.find((x) => x.config === config && x.impl === impl);
          if (!r) return "";
          const vs = impl === ref ? "" : ` (${ref} ×${this.ratio(group, config, ref, impl).toFixed(2)})`;
          return `${fmt(r.stat.median, 1)} (${fmt(r.stat.min, 1)}–${fmt(r.stat.max, 1)})${vs}`;
        });
        lines.push(`| ${config} | ${cells.join(" | ")} |`);
      }
      lines.push("");
    }
    lines.push("## targets", "", "| target | measured | goal | met |", "| --- | --- | --- | --- |");
    for (const t of this.targets) {
      const met = t.goal === "(report)" ? "—" : t.met ? "yes" : "**no**";
      lines.push(`| ${t.name} | ${t.ratio.toFixed(2)} | ${t.goal} | ${met} |`);
    }
    lines.push("");
    return lines.join("\n");
  }
}
