/**
 * The repository's own import graph, read with TypeScript's pre-processor (no type checking, no
 * dependency beyond the compiler the repository already has): every relative `import`, `import type`,
 * `export ... from` and `import()` of the `.ts` files under some folders, and the import circles in it.
 * A type-only import counts: tools that draw the graph (madge, an IDE's) show it as a circle too, and a
 * circle of types is the first step to a circle of values.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/** File -> the files it imports, both as paths relative to the root the graph was read from. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** The `.ts` file a relative specifier names from `from` (NodeNext: `./x.js` is `./x.ts`), if any. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, ".ts"), base, `${base}.ts`, join(base, "index.ts")];
  return candidates.find((file) => file.endsWith(".ts") && existsSync(file));
}

/** The import graph of every `.ts` file under `folders` (relative to `root`), node_modules left out. */
export function importGraph(root: string, folders: readonly string[]): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const folder of folders) {
    const files = readdirSync(join(root, folder), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts") && !f.split(/[\\/]/).includes("node_modules"))
      .map((f) => join(root, folder, f));
    for (const file of files) {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
      const targets = importedFiles
        .filter(({ fileName }) => fileName.startsWith("."))
        .map(({ fileName }) => resolveSpecifier(file, fileName))
        .filter((target): target is string => target !== undefined)
        .map((target) => relative(root, target));
      graph.set(relative(root, file), [...new Set(targets)]);
    }
  }
  return graph;
}

/**
 * Every import circle of `graph`, one per strongly connected component that has one (Tarjan), each
 * written as a walk `a -> b -> ... -> a` through files of that component, shortest first from its
 * alphabetically first file; a file that imports itself is a circle too.
 */
export function importCircles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(target) ?? 0));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) ?? 0, index.get(target) ?? 0));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    const selfImport = component.length === 1 && (graph.get(file) ?? []).includes(file);
    if (component.length > 1 || selfImport) components.push(component.sort());
  };
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file);
  return components.map((component) => shortestCircle(graph, component)).sort();
}

/** The shortest walk from a component's first file back to itself, inside the component. */
function shortestCircle(graph: ImportGraph, component: readonly string[]): string[] {
  const members = new Set(component);
  const start = component[0] ?? "";
  const previous = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i] ?? "";
    for (const target of graph.get(file) ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        // The chain of predecessors ends at `start`, which has none.
        const walk = [file];
        for (let at = previous.get(file); at !== undefined; at = previous.get(at)) walk.unshift(at);
        return [...walk, start];
      }
      if (!previous.has(target)) {
        previous.set(target, file);
        queue.push(target);
      }
    }
  }
  return [...component, start];
}
