/**
 * Other JavaScript runtimes for the portable suite (`test/runtimes/`): Bun and Deno from their npm
 * packages (devDependencies that ship the binary), and Debian's Chromium driven by playwright-core.
 *
 * A machine without Chromium still passes `npm test`: {@link describeWithChromium} registers the
 * suite as skipped, with the install command in its name and the output. CI sets
 * `REQUIRE_CHROMIUM=1`, under which a missing browser fails the suite instead, so CI always runs it.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import { ROOT } from "./processes.js";
import { describeRequiring } from "./requires.js";

const require = createRequire(import.meta.url);

/** Where the binary of an npm package that ships one lives. */
const binaryOf = (pkg: string, file: string): string =>
  join(dirname(require.resolve(`${pkg}/package.json`)), file);

/** Bun, from `@oven/bun-linux-x64`. */
export const BUN = binaryOf("@oven/bun-linux-x64", "bin/bun");
/** Deno, from `@deno/linux-x64-glibc`. */
export const DENO = binaryOf("@deno/linux-x64-glibc", "deno");

/** The browser: Debian's chromium, or the one `GRPC_MPSC_TEST_CHROMIUM` names. */
export const CHROMIUM = process.env.GRPC_MPSC_TEST_CHROMIUM || "/usr/bin/chromium";
/** The one-line install of it on Debian and Ubuntu. */
export const INSTALL_CHROMIUM = "apt-get install -y chromium";
/** Chromium's flags here: headless, nothing that reaches the network or a profile of its own. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Bundles `entry` (a file of the repository) with esbuild into one self-contained ES module, the way a
 * browser bundler would (`platform: "browser"`, `grpc-mpsc` resolved to the source of the core entry):
 * a Node built-in anywhere in it fails the build. Returns the file written into `outDir`.
 */
export async function bundleForRuntimes(entry: string, outDir: string): Promise<string> {
  const outfile = join(outDir, "portable.mjs");
  await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    alias: { "grpc-mpsc": "./src/index.ts" },
    logLevel: "silent",
  });
  return outfile;
}

/** Runs `command args` to its end, killed after `timeoutMs`; resolves with its stdout, rejects with both streams. */
export function runToEnd(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${command} ${args.join(" ")}: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/**
 * Loads the ES module `script` in a page of headless Chromium served from 127.0.0.1 (a random port),
 * waits up to `timeoutMs` for it to leave `globalThis.__portableResult`, and returns its lines. The
 * browser runs on a fresh profile folder, removed afterwards with the server.
 */
export async function runInChromium(script: string, timeoutMs: number): Promise<string[]> {
  const { chromium } = await import("playwright-core");
  const code = readFileSync(script);
  const page = `<!doctype html><meta charset="utf-8"><title>grpc-mpsc portable suite</title>
<script type="module" src="/portable.mjs"></script>`;
  const server = createServer((req, res) => {
    if (req.url === "/portable.mjs") res.writeHead(200, { "content-type": "text/javascript" }).end(code);
    else if (req.url === "/") res.writeHead(200, { "content-type": "text/html" }).end(page);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const profile = mkdtempSync(join(tmpdir(), "grpc-mpsc-chromium-"));
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: timeoutMs,
    });
    const tab = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    tab.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
    await tab.goto(`http://127.0.0.1:${port}/`, { timeout: timeoutMs });
    try {
      const handle = await tab.waitForFunction(
        () => (globalThis as { __portableResult?: { lines: string[] } }).__portableResult?.lines,
        undefined,
        { timeout: timeoutMs, polling: 100 },
      );
      return (await handle.jsonValue()) as string[];
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${errors.join("\n")}`);
    }
  } finally {
    await context?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * `describe(name, fn)` for a suite that needs {@link CHROMIUM}. Without it the suite is skipped, with
 * the install command in its name and the output; with `REQUIRE_CHROMIUM=1` it fails.
 */
export function describeWithChromium(name: string, fn: () => void): void {
  describeRequiring(
    {
      available: () => existsSync(CHROMIUM),
      missing: `${CHROMIUM} is missing; install it with: ${INSTALL_CHROMIUM}`,
      requireVar: "REQUIRE_CHROMIUM",
      label: "chromium",
    },
    name,
    fn,
  );
}
