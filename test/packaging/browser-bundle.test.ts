import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * An entry bundled as a browser bundler would: every import followed, nothing external. From source:
 * the build (tsc) emits the same imports, and bundling dist/ here would race the tests that rebuild it.
 */
async function bundleForBrowser(entry: string): Promise<{ text: string; inputs: string[] }> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  expect(result.errors).toEqual([]);
  const [output] = result.outputFiles;
  return { text: output?.text ?? "", inputs: Object.keys(result.metafile.inputs) };
}

describe("the core entry in a browser bundle", () => {
  it("bundles from source with esbuild --platform=browser: no Node built-in, no setImmediate needed", async () => {
    const { text, inputs } = await bundleForBrowser("src/index.ts");
    expect(inputs.filter((i) => i.startsWith("node:") || !i.startsWith("src/"))).toEqual([]);
    expect(text).not.toMatch(/\bfrom\s*["']node:|require\(\s*["']node:|import\(\s*["']node:/);
    expect(text).toContain("function channel(");
    // setImmediate appears only behind the feature test that picks a fallback without it.
    const uses = [...text.matchAll(/setImmediate/g)].length;
    expect(uses).toBeGreaterThan(0);
    expect(text).toMatch(/typeof setImmediate === "function"/);
  });

  it("the Node-stream entry (grpc-mpsc/node) is the one that needs node:stream, and says so to a browser bundler", async () => {
    await expect(bundleForBrowser("src/node/index.ts")).rejects.toThrow(/node:stream/);
  });
});
