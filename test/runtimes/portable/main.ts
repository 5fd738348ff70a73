/**
 * Runs every case of `cases.ts` in turn, each bounded in time, prints one line per case and then
 * `N passed, M failed`, and leaves the same on `globalThis.__portableResult` (what the Chromium page
 * is read for). Bundled into one ES module by `test/runtimes/`; nothing here is runtime-specific.
 */
import { cases } from "./cases.js";

/** What a finished run leaves on `globalThis`. */
export interface PortableResult {
  readonly passed: number;
  readonly failed: number;
  readonly lines: string[];
}

const CASE_TIMEOUT_MS = 15_000;

async function runAll(): Promise<PortableResult> {
  const lines: string[] = [];
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => c.run()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timed out after ${CASE_TIMEOUT_MS} ms`)),
            CASE_TIMEOUT_MS,
          );
        }),
      ]);
      passed++;
      lines.push(`ok - ${c.name}`);
    } catch (err) {
      failed++;
      lines.push(`not ok - ${c.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }
  // Which way this runtime yields a turn (as src/channel/macrotask.ts picks it), for the record.
  const g = globalThis as { setImmediate?: unknown; MessageChannel?: unknown };
  const yielding =
    typeof g.setImmediate === "function"
      ? "setImmediate"
      : typeof g.MessageChannel === "function"
        ? "MessageChannel"
        : "setTimeout";
  lines.push(`# the core yields with ${yielding}`);
  lines.push(`${passed} passed, ${failed} failed`);
  return { passed, failed, lines };
}

const result = await runAll();
for (const line of result.lines) console.log(line);
(globalThis as { __portableResult?: PortableResult }).__portableResult = result;
