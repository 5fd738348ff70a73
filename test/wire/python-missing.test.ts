import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";
import { runNestedVitest } from "../support/requires.js";

/** Every test file that runs python, by its source (this file only talks about it). */
const PYTHON_FILES = readdirSync(join(ROOT, "test"), { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".test.ts") && !f.endsWith("python-missing.test.ts"))
  .map((f) => `test/${f}`)
  .filter((f) => /python3|spawnPython|\.py\b/.test(readFileSync(join(ROOT, f), "utf8")));
/** Those that declare their suites with describeWithPython (the rest would fail without grpcio). */
const PYTHON_SUITES = PYTHON_FILES.filter((f) =>
  readFileSync(join(ROOT, f), "utf8").includes("describeWithPython("),
);

/** Runs the python interop files in a nested vitest whose python cannot `import grpc`. */
function runWithoutGrpc(require: boolean): { status: number | null; output: string } {
  return runNestedVitest(PYTHON_SUITES, {
    GRPC_MPSC_TEST_PYTHON: join(ROOT, "no-such-python"),
    REQUIRE_PYTHON_GRPCIO: require ? "1" : undefined,
  });
}

describe("a machine without python3-grpcio", () => {
  it("every test file that runs python declares its suites with describeWithPython", () => {
    expect(PYTHON_SUITES).toEqual(PYTHON_FILES);
    expect(PYTHON_SUITES.length).toBeGreaterThanOrEqual(2);
  });

  it("reports the python interop suites as skipped, with the install command, and passes", () => {
    const { status, output } = runWithoutGrpc(false);
    const skipped = output.match(/install it with: apt-get install -y python3-grpcio/g) ?? [];
    expect(skipped).toHaveLength(PYTHON_SUITES.length);
    expect(output).toMatch(
      new RegExp(`Test Files\\s+${PYTHON_SUITES.length} skipped \\(${PYTHON_SUITES.length}\\)`),
    );
    expect(status).toBe(0);
  }, 60_000);

  it("fails each suite instead under REQUIRE_PYTHON_GRPCIO=1 (as CI sets it)", () => {
    const { status, output } = runWithoutGrpc(true);
    expect(output).toContain("needs python3-grpcio (REQUIRE_PYTHON_GRPCIO=1)");
    expect(output).toMatch(
      new RegExp(`Test Files\\s+${PYTHON_SUITES.length} failed \\(${PYTHON_SUITES.length}\\)`),
    );
    expect(status).toBe(1);
  }, 60_000);
});
