/**
 * The Python gRPC peer of the interop tests: Debian's python3 with python3-grpcio (gRPC's C core).
 *
 * A machine without that package still passes `npm test`: {@link describeWithPython} registers such
 * suites as skipped, with the install command in the output. CI sets `REQUIRE_PYTHON_GRPCIO=1`, under
 * which a missing package fails the suite instead, so CI always runs them.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Child, spawnChild } from "./processes.js";
import { describeRequiring, type Requirement } from "./requires.js";

/**
 * The interpreter: Debian's python3 (apt's python3-grpcio lives there, not in a pyenv interpreter on
 * PATH). `GRPC_MPSC_TEST_PYTHON` names another one (one with grpcio in a virtualenv, or one without it
 * to see the skip).
 */
export const PYTHON = process.env.GRPC_MPSC_TEST_PYTHON || "/usr/bin/python3";

/** The one-line install of the package on Debian and Ubuntu. */
export const INSTALL_PYTHON_GRPC = "apt-get install -y python3-grpcio";

let cached: boolean | undefined;

/** Whether {@link PYTHON} can `import grpc` (asked once per test file). */
export function hasPythonGrpc(): boolean {
  cached ??= spawnSync(PYTHON, ["-c", "import grpc"], { stdio: "ignore", timeout: 20_000 }).status === 0;
  return cached;
}

/**
 * `describe(name, fn)` for a suite that needs {@link PYTHON} with grpcio. Without it the suite is
 * skipped, and the file prints why and the install command; with `REQUIRE_PYTHON_GRPCIO=1` it fails.
 */
export function describeWithPython(name: string, fn: () => void): void {
  describeRequiring(PYTHON_GRPC, name, fn);
}

/** Python with grpcio, as a requirement of a suite. */
export const PYTHON_GRPC: Requirement = {
  what: "python3-grpcio",
  requireVar: "REQUIRE_PYTHON_GRPCIO",
  missing: () =>
    hasPythonGrpc()
      ? undefined
      : `${PYTHON} cannot import grpc (python3-grpcio is missing); install it with: ${INSTALL_PYTHON_GRPC}`,
};

/**
 * Starts `test/wire/<script>` with {@link PYTHON}. Its stdin stays open (the servers there run until
 * it closes); `killChildren` ends it.
 */
export function spawnPython(script: string, args: string[] = []): Child {
  const wire = fileURLToPath(new URL("../wire/", import.meta.url));
  return spawnChild(PYTHON, [`${wire}${script}`, ...args], { cwd: wire, keepStdin: true });
}

/**
 * Runs the python-grpcio scenario client (test/wire/py_scenarios_client.py) against `target` with
 * `scenarios` (the grpc-go client's names).
 */
export function runPythonClient(target: string, scenarios: string[]): Child {
  return spawnPython("py_scenarios_client.py", [target, ...scenarios]);
}

/**
 * Starts the python-grpcio scenario server (test/wire/py_scenarios_server.py) on 127.0.0.1 (port 0);
 * resolves once it printed its port.
 */
export async function startPythonServer(): Promise<{ child: Child; port: number }> {
  const child = spawnPython("py_scenarios_server.py");
  const [, port] = await child.line(/^\{"event":"listening","port":(\d+)\}$/, 15_000);
  return { child, port: Number(port) };
}
