import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

const readme = readFileSync(join(ROOT, "README.md"), "utf8");

/** The packages an install block names (`npm install [-D] a b c` lines, flags left out). */
function installed(markdown: string): Set<string> {
  const block = /## Install\n\n```sh\n([\s\S]*?)```/.exec(markdown)?.[1] ?? "";
  const names = block
    .split("\n")
    .filter((line) => line.startsWith("npm install "))
    .flatMap((line) => line.replace(/#.*/, "").trim().split(/\s+/).slice(2))
    .filter((word) => !word.startsWith("-"));
  return new Set(names);
}

/** The package an import specifier belongs to (`@scope/name` or `name`), or undefined for a file or a builtin. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("node:")) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Every package imported by `source`, following its relative imports through the repository's files. */
function importsOf(source: string, from: string, seen = new Set<string>()): Set<string> {
  const packages = new Set<string>();
  for (const [, specifier = ""] of source.matchAll(/(?:from|import)\s+"([^"]+)"/g)) {
    const pkg = packageOf(specifier);
    if (pkg !== undefined) {
      packages.add(pkg);
      continue;
    }
    if (!specifier.startsWith(".")) continue;
    const file = resolve(from, specifier).replace(/\.js$/, ".ts");
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    for (const p of importsOf(readFileSync(file, "utf8"), dirname(file), seen)) packages.add(p);
  }
  return packages;
}

describe("the README's install line", () => {
  it("names every package that the README's examples import, with the code they import (generated code included)", () => {
    // The README's `./generated/` is what its buf.gen.yaml writes: here, examples/generated/.
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) =>
      (m[1] ?? "").replaceAll('"./generated/', '"./examples/generated/'),
    );
    const needed = new Set(blocks.flatMap((code) => [...importsOf(code, ROOT)]));
    expect(needed).toContain("@bufbuild/protobuf"); // through examples/generated/messages.ts
    const names = installed(readme);
    expect([...needed].filter((pkg) => !names.has(pkg))).toEqual([]);
  });

  it("names the generator that makes the examples' message code, and the package it needs", () => {
    const names = installed(readme);
    for (const pkg of ["grpc-mpsc", "@grpc/grpc-js", "@bufbuild/protobuf", "ts-proto", "@bufbuild/buf"])
      expect(names).toContain(pkg);
    const generated = readFileSync(join(ROOT, "examples/generated/messages.ts"), "utf8");
    expect(generated).toMatch(/protoc-gen-ts_proto/);
  });

  it("shows the buf.yaml and buf.gen.yaml this repository generates with (but for where the code goes)", () => {
    const yaml = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    /** A config's meaningful lines: no comments, no `clean`, no `out`. */
    const lines = (text: string): string[] =>
      text
        .split("\n")
        .filter((l) => l.trim() !== "" && !/^\s*(#|clean:|out:)/.test(l))
        .map((l) => l.trimEnd());
    const shown = (file: string): string[] => lines(yaml.find((b) => b.startsWith(`# ${file}`)) ?? "");
    for (const file of ["buf.yaml", "buf.gen.yaml"])
      expect(shown(file)).toEqual(lines(readFileSync(join(ROOT, file), "utf8")));
    expect(readme).toMatch(/npm i(nstall)? -D @bufbuild\/buf ts-proto/);
    expect(readme).toContain("npx buf generate");
  });
});
