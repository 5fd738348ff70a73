/**
 * The runner's parts that are not cases: its command line, the progress it reports, the report and
 * chart it writes, and the registry every part reads. No timing is asserted.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { chart } from "../../bench/chart.js";
import { parseArgs } from "../../bench/cli.js";
import { Progress } from "../../bench/progress.js";
import { cases, sections } from "../../bench/registry.js";
import { Results } from "../../bench/report.js";

describe("the command line", () => {
  it("a full run: 5 repetitions, 9 for gRPC throughput, 3 for memory figures; saved", () => {
    expect(parseArgs([])).toEqual({
      quick: false,
      only: undefined,
      reps: { default: 5, throughput: 9, few: 3 },
      partial: false,
    });
  });

  it("--quick: fewer repetitions, still saved (as quick.*)", () => {
    const run = parseArgs(["--quick"]);
    expect(run.quick).toBe(true);
    expect(run.reps).toEqual({ default: 3, throughput: 3, few: 1 });
    expect(run.partial).toBe(false);
  });

  it("--only and --reps narrow the run, which is then not saved", () => {
    expect(parseArgs(["--only=echo, flood"])).toMatchObject({ only: ["echo", "flood"], partial: true });
    expect(parseArgs(["--reps=2"])).toMatchObject({
      reps: { default: 2, throughput: 2, few: 2 },
      partial: true,
    });
    expect(() => parseArgs(["--reps=0"])).toThrow(RangeError);
    expect(() => parseArgs(["--reps=x"])).toThrow(/--reps must be an integer >= 1, got x/);
  });
});

describe("the registry", () => {
  it("names every section --only accepts, and each case's configurations have distinct labels", () => {
    expect(sections()).toEqual([
      "channel",
      "fanout",
      "echo",
      "pingpong",
      "concurrent",
      "flood",
      "upload",
      "large",
      "gfanout",
      "redis",
      "slow",
      "heap",
      "observe",
    ]);
    for (const c of Object.values(cases)) {
      for (const quick of [true, false]) {
        const configs = c.configs(parseArgs(quick ? ["--quick"] : []));
        expect(configs.length).toBeGreaterThan(0);
        expect(new Set(configs.map((x) => x.label)).size).toBe(configs.length);
        for (const x of configs) {
          expect(x.seconds).toBeGreaterThan(0);
          for (const impl of x.impls ?? []) expect(c.impls).toContain(impl);
        }
      }
    }
  });
});

describe("progress", () => {
  it("names the configuration and its round, with the time since the start and an estimate of the time left", () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (b: Buffer) => {
      text += b.toString();
    });
    const progress = new Progress(
      [
        { label: "grpc echo: 1 stream", seconds: 10 },
        { label: "grpc flood: 1 stream", seconds: 20 },
      ],
      out as unknown as NodeJS.WriteStream,
    );
    progress.begin({ label: "grpc echo: 1 stream", seconds: 10 });
    progress.at("warm-up", 0);
    progress.at("round 2/3", 0.5);
    progress.log("  a result");
    progress.end();
    const lines = text.trim().split("\n");
    expect(lines[0]).toMatch(/^\[\d+\.\d s\] grpc echo: 1 stream$/);
    expect(lines[1]).toMatch(/grpc echo: 1 stream · warm-up · about \d+ s left/);
    expect(lines[2]).toMatch(/grpc echo: 1 stream · round 2\/3 · about \d+ (min \d+ )?s left/);
    expect(lines[3]).toBe("  a result");
  });
});

describe("the report", () => {
  it("tables each group with ratios to its first implementation, lists the targets and charts the ratios", () => {
    const r = new Results();
    r.record("grpc echo", "1 stream", "grpc-mpsc", "msg/s", [20, 30, 10]);
    r.record("grpc echo", "1 stream", "raw grpc-js", "msg/s", [10, 20, 10]);
    expect(r.ratio("grpc echo", "1 stream", "grpc-mpsc", "raw grpc-js")).toBe(1.5);
    expect(r.ratio("grpc echo", "1 stream", "grpc-mpsc", "nice-grpc")).toBeNaN();
    r.addTargets([
      { name: "echo / raw", value: 1.5, goal: { text: ">= 1", met: (v) => v >= 1 } },
      { name: "not run", value: Number.NaN, goal: undefined },
      { name: "peak MiB", value: 17, goal: undefined, chart: false },
    ]);
    const md = r.markdown("title", "subtitle");
    expect(md).toContain("## grpc echo (msg/s)");
    expect(md).toContain("| 1 stream | 20.0 (10.0–30.0) | 10.0 (10.0–20.0) (grpc-mpsc ×1.50) |");
    expect(md).toContain("| echo / raw | 1.50 | >= 1 | yes |");
    expect(md).toContain("| peak MiB | 17.00 | (report) | — |");
    expect(md).not.toContain("not run");
    const svg = chart(r.charted, true);
    expect(svg).toContain("echo / raw");
    expect(svg).not.toContain("peak MiB");
  });
});
