import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = join(root, ".readme-check");

/** The ```ts blocks of a Markdown file. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the README's TypeScript examples", () => {
  it("type-check as written (strict, against the sources), so they cannot rot", () => {
    const blocks = tsBlocks(readFileSync(join(root, "README.md"), "utf8"));
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    blocks.forEach((code, i) => {
      // Each block is its own module; paths in the README are relative to the repository root, and
      // its `./generated/` (what the README's buf.gen.yaml writes) is this repository's examples/generated/.
      writeFileSync(
        join(dir, `block-${i + 1}.ts`),
        `${code.replaceAll('"./examples/', '"../examples/').replaceAll('"./generated/', '"../examples/generated/')}\nexport {};\n`,
      );
    });
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ extends: "../tsconfig.json", compilerOptions: { noEmit: true }, include: ["*.ts"] }),
    );
    let output = "";
    try {
      execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", dir], {
        encoding: "utf8",
      });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe("");
  }, 60_000);

  it("the quick-start example runs and prints what it says", () => {
    const [quickStart] = tsBlocks(readFileSync(join(root, "README.md"), "utf8"));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "quick-start.ts"), quickStart ?? "");
    const out = execFileSync(process.execPath, ["--import", "tsx", join(dir, "quick-start.ts")], {
      cwd: root,
      encoding: "utf8",
    });
    expect(out.trim().split("\n")).toEqual(["hello", "bounded", "world"]);
  });
});
