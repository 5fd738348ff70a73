import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

/** Runs the python interop file in a nested vitest whose python cannot `import grpc`. */
function runWithoutGrpc(require: boolean): { status: number | null; output: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, GRPC_MPSC_TEST_PYTHON: join(ROOT, "no-such-python") };
  delete env.REQUIRE_PYTHON_GRPCIO;
  if (require) env.REQUIRE_PYTHON_GRPCIO = "1";
  const run = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "test/interop/python-grpcio.test.ts"],
    { cwd: ROOT, env: { ...env, NO_COLOR: "1", FORCE_COLOR: "0" }, encoding: "utf8", timeout: 60_000 },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe("a machine without python3-grpcio", () => {
  it("reports the python interop suite as skipped, with the install command, and passes", () => {
    const { status, output } = runWithoutGrpc(false);
    expect(output).toContain("install it with: apt-get install -y python3-grpcio");
    expect(output).toMatch(/Tests\s+5 skipped/);
    expect(status).toBe(0);
  }, 60_000);

  it("fails the suite instead under REQUIRE_PYTHON_GRPCIO=1 (as CI sets it)", () => {
    const { status, output } = runWithoutGrpc(true);
    expect(output).toContain("needs python3-grpcio (REQUIRE_PYTHON_GRPCIO=1)");
    expect(output).toMatch(/Tests\s+1 failed/);
    expect(status).toBe(1);
  }, 60_000);
});
