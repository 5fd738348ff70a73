/** The fan-out example end to end: a stalled subscriber misses ticks and is told; the others do not. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const main = new URL("../../examples/ticker/main.ts", import.meta.url).pathname;

/** Runs the example with `args`; resolves with its stdout lines and exit code. */
async function ticker(args: string[]): Promise<{ lines: string[]; code: number; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", main, ...args], {
      timeout: 60_000,
    });
    return { lines: stdout.split("\n").filter(Boolean), code: 0, stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return {
      lines: (e.stdout ?? "").split("\n").filter(Boolean),
      code: e.code ?? -1,
      stderr: e.stderr ?? "",
    };
  }
}

describe("the ticker example (npm run example:ticker)", () => {
  // On h2 a stalled client takes more ticks off the server before it holds (the connection's window
  // and Node's stream buffer, not grpc-js's), so its stall there is longer.
  it.each([
    { transport: "grpc-js", count: "1500", stall: "2500" },
    { transport: "h2", count: "3000", stall: "5000" },
  ])(
    "on $transport: the stalled subscriber is told what it missed; the others get every tick in order",
    async ({ transport, count, stall }) => {
      const { lines, code } = await ticker(["--transport", transport, "--count", count, "--stall-ms", stall]);
      expect(code).toBe(0);
      const report = (name: string) => lines.find((l) => l.startsWith(`${name}:`)) ?? "";
      expect(report("alice")).toMatch(
        new RegExp(`^alice: ${count} ticks from tick \\d+, 0 missed, in order$`),
      );
      expect(report("bob")).toMatch(new RegExp(`^bob: ${count} ticks from tick \\d+, 0 missed, in order$`));
      const stalled = new RegExp(`^stalled: ${count} ticks from tick \\d+, (\\d+) missed, in order$`).exec(
        report("stalled"),
      );
      expect(Number(stalled?.[1])).toBeGreaterThan(0);
      expect(lines.some((l) => /^server: stalled fell behind and missed \d+ ticks$/.test(l))).toBe(true);
      // The flaky one dropped its connection and resumed each time: every tick once, none missed.
      expect(report("flaky")).toMatch(/^flaky: \d+ ticks from tick \d+, 0 missed, in order$/);
      const resumed = /^flaky: (\d+) reconnections, up to tick \d+, 0 twice$/.exec(
        lines.find((l) => l.startsWith("flaky: ") && l.includes("reconnections")) ?? "",
      );
      expect(Number(resumed?.[1])).toBeGreaterThanOrEqual(2);
      expect(
        lines.filter((l) => /^server: flaky resumed after tick \d+$/.test(l)).length,
      ).toBeGreaterThanOrEqual(2);
    },
    90_000,
  );

  it("a transport other than grpc-js or h2 is refused with the flag's message", async () => {
    const { code, stderr } = await ticker(["--transport", "quic"]);
    expect(code).toBe(2);
    expect(stderr).toContain('--transport expected "grpc-js" or "h2"');
  });

  it("a bad flag is a clear message and exit code 2", async () => {
    const { code, stderr } = await ticker(["--count", "abc"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--count must be an integer from 1 up");
  }, 30_000);
  it("a server started with Redis down exits 1 with one line that says so, not a stack trace", async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const { code, stderr } = await ticker(["--server-only", "--port", "0", "--redis", "redis://127.0.0.1:1"]);
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 1,
      stderr: expect.stringMatching(
        /^ticker: cannot start the server \(is Redis up at redis:\/\/127\.0\.0\.1:1\?\): .*ECONNREFUSED[^\n]*$/,
      ),
    });
  });
});
