import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = join(root, ".readme-check");

/** The ```ts blocks of a Markdown file. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

/** The documents whose examples are checked: the README and every guide in docs/. */
const documents = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];
/** Every example, named after its document and its place there (`docs/fanout.md-2`). */
const examples = documents.flatMap((doc) =>
  tsBlocks(readFileSync(join(root, doc), "utf8")).map((code, i) => ({ name: `${doc}-${i + 1}`, code })),
);
/** The file an example is written to in the scratch folder. */
const fileOf = (name: string): string => `${name.replaceAll(/[/.]/g, "_")}.ts`;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the TypeScript examples of the README and docs/", () => {
  it("type-check as written (strict, against the sources), so they cannot rot", () => {
    expect(examples.filter((e) => e.name.startsWith("README")).length).toBeGreaterThanOrEqual(2);
    expect(examples.filter((e) => e.name.startsWith("docs/")).length).toBeGreaterThanOrEqual(5);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (const { name, code } of examples) {
      // Each block is its own module; paths in the docs are relative to the repository root, and
      // their `./generated/` (what docs/codegen.md's buf.gen.yaml writes) is this repository's examples/generated/.
      writeFileSync(
        join(dir, fileOf(name)),
        `${code.replaceAll('"./examples/', '"../examples/').replaceAll('"./generated/', '"../examples/generated/')}\nexport {};\n`,
      );
    }
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

  // The in-process examples (no gRPC, no file of this repository; the quick start among them) run as
  // written, and print what their comments say they print.
  const inProcess = examples.filter(
    ({ code }) => !code.includes("grpc-mpsc/grpc") && !code.includes("@grpc/") && !/from "\.\//.test(code),
  );
  /** What each in-process example prints, from the comments beside its `console.log`s. */
  const printed: Record<string, string[]> = {
    "README.md-1": ["hello", "bounded", "world"],
    "docs/fanout-resume.md-1": ["a 1"],
    "docs/fanout-resume.md-2": ["missed 1", "30 3"],
    "docs/fanout.md-1": ["tick"],
    "docs/fanout.md-2": ["0", "2"],
    "docs/fanout.md-3": ["900 100"],
    "docs/fanout.md-4": ["job job 1"],
    "docs/streams.md-1": ["one", "two", "three"],
  };

  it("every in-process example is listed here with what it prints", () => {
    expect(inProcess.map((e) => e.name).sort()).toEqual(Object.keys(printed).sort());
  });

  it.each(Object.keys(printed))(
    "%s runs and prints what its comments say",
    async (name) => {
      const example = examples.find((e) => e.name === name);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `run-${fileOf(name)}`);
      writeFileSync(file, example?.code ?? "");
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", file], {
        cwd: root,
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(stdout.trim().split("\n")).toEqual(printed[name]);
    },
    30_000,
  );
});
