import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";
import { runNestedVitest } from "../support/requires.js";

/** Every test file that starts a grpc-go peer, by its source (this file only talks about them). */
const GO_FILES = readdirSync(join(ROOT, "test"), { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".test.ts") && !f.endsWith("go-missing.test.ts"))
  .map((f) => `test/${f}`)
  .filter((f) => /support\/go\.js/.test(readFileSync(join(ROOT, f), "utf8")));
/** Those that declare their suites with describeWithGo (the rest would fail without Go). */
const GO_SUITES = GO_FILES.filter((f) => readFileSync(join(ROOT, f), "utf8").includes("describeWithGo("));

/** Runs the grpc-go interop files in a nested vitest whose `go` does not exist. */
function runWithoutGo(require: boolean): { status: number | null; output: string } {
  return runNestedVitest(GO_SUITES, {
    GRPC_MPSC_TEST_GO: join(ROOT, "no-such-go"),
    REQUIRE_GRPC_GO: require ? "1" : undefined,
  });
}

describe("a machine without Go or Debian's grpc-go", () => {
  it("every test file that starts a grpc-go peer declares its suites with describeWithGo", () => {
    expect(GO_SUITES).toEqual(GO_FILES);
    expect(GO_SUITES.length).toBeGreaterThanOrEqual(2);
  });

  it("reports the grpc-go interop suites as skipped, with the install command, and passes", () => {
    const { status, output } = runWithoutGo(false);
    const skipped =
      output.match(/install it with: apt-get install -y golang-go golang-google-grpc-dev/g) ?? [];
    expect(skipped.length).toBeGreaterThanOrEqual(GO_SUITES.length);
    expect(output).toMatch(new RegExp(`Test Files\\s+${GO_SUITES.length} skipped \\(${GO_SUITES.length}\\)`));
    expect(status).toBe(0);
  }, 60_000);

  it("fails each suite instead under REQUIRE_GRPC_GO=1 (as CI sets it)", () => {
    const { status, output } = runWithoutGo(true);
    expect(output).toContain("needs Go and Debian's grpc-go (REQUIRE_GRPC_GO=1)");
    expect(output).toMatch(new RegExp(`Test Files\\s+${GO_SUITES.length} failed \\(${GO_SUITES.length}\\)`));
    expect(status).toBe(1);
  }, 60_000);
});
