import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { importCircles, importGraph } from "../support/imports.js";
import { ROOT } from "../support/processes.js";

const scratch = mkdtempSync(join(tmpdir(), "grpc-mpsc-circles-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes `files` (path -> source) under a fresh folder of the scratch directory and returns it. */
function project(name: string, files: Record<string, string>): string {
  const root = join(scratch, name);
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), source);
  }
  return root;
}

describe("the import graph has no circles", () => {
  it.each(["src", "bench"])(
    "%s/ imports no file that imports it back, types and import() included",
    (folder) => {
      const graph = importGraph(ROOT, [folder]);
      expect(graph.size).toBeGreaterThan(10);
      expect(importCircles(graph).map((walk) => walk.join(" -> "))).toEqual([]);
    },
  );

  it("bench/ reaches src/ only through the package's name, so the two graphs cannot close a circle together", () => {
    const graph = importGraph(ROOT, ["src", "bench"]);
    const intoSrc = [...graph].filter(
      ([file, targets]) => file.startsWith("bench") && targets.some((t) => t.startsWith("src")),
    );
    expect(intoSrc).toEqual([]);
    expect(importCircles(graph).map((walk) => walk.join(" -> "))).toEqual([]);
  });
});

describe("the circle finder", () => {
  it("finds circles of type-only imports, import() and re-exports, through folder imports, each as its shortest walk", () => {
    const root = project("circles", {
      "a/types.ts": 'import type { B } from "./b.js";\nexport type A = { b: B };\n',
      "a/b.ts": 'import type { A } from "./types.js";\nexport type B = { a?: A };\n',
      "c/index.ts": 'export { d } from "./d.js";\n',
      "c/d.ts": 'export const d = async () => (await import("./index.js")).d;\n',
      "e/self.ts": 'export * from "./self.js";\n',
      "f/leaf.ts": "export const leaf = 1;\n",
      "f/user.ts":
        'import { leaf } from "./leaf.js";\n// import { user } from "./user.js";\nexport const user = leaf;\n',
      // A ring of four with a chord (two -> four): the walk named is the three-file one.
      "r/one.ts": 'import { two } from "./two.js";\nexport const one = two;\n',
      "r/two.ts":
        'import { three } from "./three.js";\nimport type { Four } from "./four/index.js";\nexport const two: Four = three;\n',
      "r/three.ts": 'import type { Four } from "./four/index.js";\nexport const three = 3 as Four;\n',
      "r/four/index.ts": 'import type { one } from "../one.js";\nexport type Four = typeof one;\n',
    });
    expect(importCircles(importGraph(root, ["a", "c", "e", "f", "r"]))).toEqual([
      ["a/b.ts", "a/types.ts", "a/b.ts"],
      ["c/d.ts", "c/index.ts", "c/d.ts"],
      ["e/self.ts", "e/self.ts"],
      ["r/four/index.ts", "r/one.ts", "r/two.ts", "r/four/index.ts"],
    ]);
  });
});
