import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/** `file` without its comments: the TSDoc examples show imports and names that the module does not use. */
function code(file: string): string {
  return readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
}

/** Every module specifier that `file` imports or re-exports (static and dynamic). */
function specifiers(file: string): string[] {
  const text = code(file);
  const found: string[] = [];
  for (const m of text.matchAll(
    /(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g,
  )) {
    const spec = m[1] ?? m[2];
    if (spec) found.push(spec);
  }
  return found;
}

/** The transitive import graph of `entry`: the files reached and the bare packages they name. */
function graph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of specifiers(file)) {
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

describe("the core entry point", () => {
  it("imports nothing but its own files, not even a Node built-in, so it never loads @grpc/grpc-js", () => {
    const { files, packages } = graph(resolve(src, "index.ts"));
    expect(files.size).toBeGreaterThan(3);
    expect([...packages]).toEqual([]);
    for (const f of files) expect(f.startsWith(resolve(src, "grpc"))).toBe(false);
  });

  it("never names setImmediate outside the one file that feature-detects it", () => {
    const { files } = graph(resolve(src, "index.ts"));
    const naming = [...files].filter((f) => !f.endsWith("macrotask.ts") && /\bsetImmediate\b/.test(code(f)));
    expect(naming).toEqual([]);
  });
});

describe("the Node entry point (grpc-mpsc/node)", () => {
  it("imports Node built-ins and its own files only, and no gRPC code", () => {
    const { files, packages } = graph(resolve(src, "node", "index.ts"));
    expect([...packages]).toEqual(["node:stream"]);
    for (const f of files) expect(f.startsWith(resolve(src, "grpc"))).toBe(false);
  });
});
