/**
 * Suites that need something outside npm (a Debian package): skipped with the install command where
 * it is missing, failed instead where CI asked for it (`REQUIRE_...=1`), and the nested vitest run
 * that the `*-missing` tests use to show both.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./processes.js";

/** What a suite needs, and how to tell it is missing. */
export interface Requirement {
  /** What it is, for the failing test's name: "needs <what> (<requireVar>=1)". */
  what: string;
  /** The environment variable under which a missing requirement fails the suite (CI sets it to 1). */
  requireVar: string;
  /** Why it is missing here, with the install command; `undefined` where it is present. */
  missing(): string | undefined;
}

/**
 * `describe(name, fn)` for a suite that needs `requirement`. Where it is missing, the suite is skipped
 * (the file prints why, and the install command); with `<requireVar>=1` it fails instead.
 */
export function describeRequiring(requirement: Requirement, name: string, fn: () => void): void {
  const missing = requirement.missing();
  if (missing === undefined) {
    describe(name, fn);
    return;
  }
  if (process.env[requirement.requireVar] === "1") {
    describe(name, () => {
      it(`needs ${requirement.what} (${requirement.requireVar}=1)`, () => {
        throw new Error(missing);
      });
    });
    return;
  }
  console.warn(`skipped "${name}": ${missing}`);
  describe.skip(`${name} [skipped: ${missing}]`, fn);
}

/**
 * Runs the test `files` in a nested vitest with `env` over this process's environment (a key set to
 * `undefined` is removed); resolves with its exit status and output.
 */
export function runNestedVitest(
  files: readonly string[],
  env: Record<string, string | undefined>,
): { status: number | null; output: string } {
  const merged: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  const run = spawnSync(process.execPath, [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", ...files], {
    cwd: ROOT,
    env: merged,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** What {@link describeMissing} needs to know about a requirement and the suites that need it. */
export interface MissingCase {
  /** The requirement the suites declare. */
  requirement: Requirement;
  /** The `describe...` helper they declare it with, e.g. "describeWithPython". */
  helper: string;
  /** Which test files need it: those whose source matches. */
  uses: RegExp;
  /** The file of the `*-missing` test itself (left out of the search). */
  self: string;
  /** The environment under which it is missing (e.g. a tool variable naming no binary). */
  env: Record<string, string>;
  /** The install command the skip must print. */
  install: string;
}

/**
 * The tests of a `*-missing` file: every test file that needs the requirement declares it with its
 * helper; without it those suites are skipped with the install command and the run passes; under
 * `<requireVar>=1` each fails instead.
 */
export function describeMissing(title: string, c: MissingCase): void {
  const files = readdirSync(join(ROOT, "test"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".test.ts") && !f.endsWith(c.self))
    .map((f) => `test/${f}`)
    .filter((f) => c.uses.test(readFileSync(join(ROOT, f), "utf8")));
  const suites = files.filter((f) => readFileSync(join(ROOT, f), "utf8").includes(`${c.helper}(`));
  const run = (require: boolean) =>
    runNestedVitest(suites, { ...c.env, [c.requirement.requireVar]: require ? "1" : undefined });
  const { what, requireVar } = c.requirement;

  describe(title, () => {
    it(`every test file that needs ${what} declares its suites with ${c.helper}`, () => {
      expect(suites).toEqual(files);
      expect(suites.length).toBeGreaterThanOrEqual(2);
    });

    it("reports those suites as skipped, with the install command, and passes", () => {
      const { status, output } = run(false);
      expect(output.split(`install it with: ${c.install}`).length - 1).toBeGreaterThanOrEqual(suites.length);
      expect(output).toMatch(new RegExp(`Test Files\\s+${suites.length} skipped \\(${suites.length}\\)`));
      expect(status).toBe(0);
    }, 60_000);

    it(`fails each suite instead under ${requireVar}=1 (as CI sets it)`, () => {
      const { status, output } = run(true);
      expect(output).toContain(`needs ${what} (${requireVar}=1)`);
      expect(output).toMatch(new RegExp(`Test Files\\s+${suites.length} failed \\(${suites.length}\\)`));
      expect(status).toBe(1);
    }, 60_000);
  });
}
