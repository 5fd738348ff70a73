import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

const scripts = Object.keys(
  (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts,
);
const files = readdirSync(join(ROOT, "examples"), { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".ts") && !f.startsWith("generated"))
  .sort();

describe("every example file's header says how to run it", () => {
  it.each(files)("examples/%s", (file) => {
    const header =
      /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(join(ROOT, "examples", file), "utf8"))?.[1] ?? "";
    expect(header).toMatch(/Run: `|Not a program|Not an example/);
    for (const [, command, name] of header.matchAll(/`npm (start|run ([\w:-]+))/g)) {
      expect(scripts).toContain(command === "start" ? "start" : name);
    }
    // A program's header names the file it runs, so a copied header shows.
    for (const [, path] of header.matchAll(/npx tsx (examples\/\S+\.ts)/g))
      expect(path).toBe(`examples/${file}`);
  });
});
