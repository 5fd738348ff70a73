import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/** Every module specifier that `file` imports or re-exports (static and dynamic). */
function specifiers(file: string): string[] {
  // Comments are dropped first: the TSDoc examples show imports that the module does not make.
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
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
  it("imports nothing but its own files and Node built-ins, so it never loads @grpc/grpc-js", () => {
    const { files, packages } = graph(resolve(src, "index.ts"));
    expect(files.size).toBeGreaterThan(3);
    expect([...packages].filter((p) => !p.startsWith("node:"))).toEqual([]);
    for (const f of files) expect(f.startsWith(resolve(src, "grpc"))).toBe(false);
  });
});
