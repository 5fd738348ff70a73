import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const codegen = readFileSync(join(ROOT, "docs/codegen.md"), "utf8");

/** The packages each ```sh block of the README's Install section names (`npm install [-D] a b c` lines, flags left out). */
function installBlocks(markdown: string): Set<string>[] {
  const section = /## Install\n([\s\S]*?)\n## /.exec(markdown)?.[1] ?? "";
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map(
    ([, block = ""]) =>
      new Set(
        block
          .split("\n")
          .filter((line) => line.startsWith("npm install "))
          .flatMap((line) => line.replace(/#.*/, "").trim().split(/\s+/).slice(2))
          .filter((word) => !word.startsWith("-")),
      ),
  );
}

/** Every package an install line of the README names. */
function installed(markdown: string): Set<string> {
  return new Set(installBlocks(markdown).flatMap((names) => [...names]));
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

/** The README's ```ts blocks, its `./generated/` (what docs/codegen.md's buf.gen.yaml writes) read as examples/generated/. */
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) =>
  (m[1] ?? "").replaceAll('"./generated/', '"./examples/generated/'),
);

describe("the README's install lines", () => {
  it("name every package that the README's examples import, with the code they import (generated code included)", () => {
    const needed = new Set(blocks.flatMap((code) => [...importsOf(code, ROOT)]));
    expect(needed).toContain("@bufbuild/protobuf"); // through examples/generated/messages.ts
    const names = installed(readme);
    expect([...needed].filter((pkg) => !names.has(pkg))).toEqual([]);
  });

  it("each asks only what its use needs: the core alone, grpc-js for the adapters, redis for the Redis feed, code generation, the OpenTelemetry API", () => {
    const [core, grpc, redis, generation, otel, ...more] = installBlocks(readme);
    expect(more).toEqual([]);
    expect([...(core ?? [])]).toEqual(["grpc-mpsc"]);
    expect([...(grpc ?? [])].sort()).toEqual(["@grpc/grpc-js", "grpc-mpsc"]);
    expect([...(redis ?? [])].sort()).toEqual(["grpc-mpsc", "redis"]);
    expect([...(generation ?? [])].sort()).toEqual(["@bufbuild/buf", "@bufbuild/protobuf", "ts-proto"]);
    expect([...(otel ?? [])]).toEqual(["@opentelemetry/api"]);
    const [coreQuickStart = "", grpcQuickStart = ""] = blocks;
    // The core quick start needs the first line only; the gRPC one the second, and the third for the
    // code it imports from ./generated/ (which imports @bufbuild/protobuf).
    expect([...importsOf(coreQuickStart, ROOT)]).toEqual(["grpc-mpsc"]);
    const own = grpcQuickStart.replaceAll(/^import[^;]*"\.\/examples\/generated\/[^"]+";$/gm, "");
    expect(own).not.toContain("./examples/generated/");
    expect([...importsOf(own, ROOT)].sort()).toEqual(["@grpc/grpc-js", "grpc-mpsc"]);
    const generated = importsOf(readFileSync(join(ROOT, "examples/generated/messages.ts"), "utf8"), ROOT);
    expect([...generated].filter((pkg) => pkg !== "@grpc/grpc-js").sort()).toEqual(["@bufbuild/protobuf"]);
  });

  it("name the generator that makes the examples' message code, and the package it needs", () => {
    const names = installed(readme);
    for (const pkg of ["grpc-mpsc", "@grpc/grpc-js", "@bufbuild/protobuf", "ts-proto", "@bufbuild/buf"])
      expect(names).toContain(pkg);
    const generated = readFileSync(join(ROOT, "examples/generated/messages.ts"), "utf8");
    expect(generated).toMatch(/protoc-gen-ts_proto/);
  });
});

describe("docs/codegen.md", () => {
  it("shows the buf.yaml and buf.gen.yaml this repository generates with (but for where the code goes)", () => {
    const yaml = [...codegen.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    /** A config's meaningful lines: no comments, no `clean`, no `out`. */
    const lines = (text: string): string[] =>
      text
        .split("\n")
        .filter((l) => l.trim() !== "" && !/^\s*(#|clean:|out:)/.test(l))
        .map((l) => l.trimEnd());
    const shown = (file: string): string[] => lines(yaml.find((b) => b.startsWith(`# ${file}`)) ?? "");
    for (const file of ["buf.yaml", "buf.gen.yaml"])
      expect(shown(file)).toEqual(lines(readFileSync(join(ROOT, file), "utf8")));
    expect(codegen).toMatch(/npm i(nstall)? -D @bufbuild\/buf ts-proto/);
    expect(codegen).toContain("npx buf generate");
  });
});
