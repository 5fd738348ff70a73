/**
 * Suites that need something outside npm (a Debian package): skipped with the install command where
 * it is missing, failed instead where CI asked for it (`REQUIRE_...=1`), and the nested vitest run
 * that the `*-missing` tests use to show both.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "vitest";
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
