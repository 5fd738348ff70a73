import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";
import {
  BUN,
  bundleForRuntimes,
  DENO,
  describeWithChromium,
  runInChromium,
  runToEnd,
} from "../support/runtimes.js";
import { cases } from "./portable/cases.js";

/**
 * The core's public behaviour on every runtime: `portable/` (cases written against the `grpc-mpsc`
 * entry only, and a runner without a test framework) bundled into one ES module for the browser, then
 * run by Node, Bun, Deno and headless Chromium. Each must report every case passed.
 */
const RUN_TIMEOUT_MS = 120_000;
let dir = "";
let bundle = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grpc-mpsc-portable-"));
  bundle = await bundleForRuntimes("test/runtimes/portable/main.ts", dir);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Checks a run's lines: every case ok, and the summary line counting all of them. */
function expectAllPassed(lines: string[]): void {
  const failures = lines.filter((l) => l.startsWith("not ok"));
  expect(failures).toEqual([]);
  expect(lines.filter((l) => l.startsWith("ok - "))).toHaveLength(cases.length);
  expect(lines.at(-1)).toBe(`${cases.length} passed, 0 failed`);
}

const lines = (stdout: string): string[] => stdout.trim().split("\n");

describe(`the portable suite (${cases.length} cases: every public behaviour of the core entry)`, () => {
  it("bundles for the browser (no Node built-in) and passes on Node", {
    timeout: RUN_TIMEOUT_MS,
  }, async () => {
    const out = lines(await runToEnd(process.execPath, [bundle], { cwd: dir, timeoutMs: RUN_TIMEOUT_MS }));
    expectAllPassed(out);
    expect(out).toContain("# the core yields with setImmediate");
  });

  it("passes on Bun (@oven/bun-linux-x64)", { timeout: RUN_TIMEOUT_MS }, async () => {
    const out = await runToEnd(BUN, [bundle], {
      cwd: dir,
      env: { BUN_INSTALL_CACHE_DIR: join(dir, "bun-cache"), DO_NOT_TRACK: "1" },
      timeoutMs: RUN_TIMEOUT_MS,
    });
    expectAllPassed(lines(out));
  });

  it("passes on Deno (@deno/linux-x64-glibc), with no permission granted", {
    timeout: RUN_TIMEOUT_MS,
  }, async () => {
    const out = await runToEnd(DENO, ["run", "--quiet", "--no-prompt", "--no-config", "--no-lock", bundle], {
      cwd: dir,
      env: { DENO_DIR: join(dir, "deno-cache"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      timeoutMs: RUN_TIMEOUT_MS,
    });
    expectAllPassed(lines(out));
  });
});

describe("docs/runtimes.md", () => {
  it("gives the portable suite's case count as it is", () => {
    const runtimes = readFileSync(join(ROOT, "docs/runtimes.md"), "utf8");
    expect(runtimes).toContain(`${cases.length} cases covering`);
    expect(runtimes).toContain(`\`${cases.length} passed, 0 failed\``);
  });
});

describeWithChromium("the portable suite in headless Chromium (playwright-core, page from 127.0.0.1)", () => {
  it("passes in the page, where the core yields without setImmediate (MessageChannel)", {
    timeout: RUN_TIMEOUT_MS + 30_000,
  }, async () => {
    const got = await runInChromium(bundle, RUN_TIMEOUT_MS);
    expectAllPassed(got);
    expect(got).toContain("# the core yields with MessageChannel");
  });
});
