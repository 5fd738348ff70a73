/**
 * The one skip for suites that need a system package (python3-grpcio, chromium, redis-server): where
 * it is missing the suite is skipped, with the install command in its name and the output, unless
 * CI's `REQUIRE_<NAME>=1` is set, under which it fails instead.
 */
import { describe, it } from "vitest";

/** What a suite needs: whether it is there, why not, and the variable that makes its absence a failure. */
export interface Requirement {
  /** Whether the package is there (asked when the suite is declared). */
  readonly available: () => boolean;
  /** What is missing and the install command, for the output. */
  readonly missing: string;
  /** The environment variable that turns the skip into a failure, e.g. `REQUIRE_REDIS`. */
  readonly requireVar: string;
  /** The package's short name in the failing test's title. */
  readonly label: string;
}

/** `describe(name, fn)` when `need` is met; otherwise skipped (or failing under `need.requireVar=1`). */
export function describeRequiring(need: Requirement, name: string, fn: () => void): void {
  if (need.available()) {
    describe(name, fn);
    return;
  }
  if (process.env[need.requireVar] === "1") {
    describe(name, () => {
      it(`needs ${need.label} (${need.requireVar}=1)`, () => {
        throw new Error(need.missing);
      });
    });
    return;
  }
  console.warn(`skipped "${name}": ${need.missing}`);
  describe.skip(`${name} [skipped: ${need.missing}]`, fn);
}
