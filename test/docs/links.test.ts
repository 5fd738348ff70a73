import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";

/** The Markdown a reader follows links through: the README, the guides in docs/, and the developer docs. */
const documents = [
  "README.md",
  "CONTRIBUTING.md",
  "bench/README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];

/** Markdown without its fenced code blocks and inline code spans, where a `[x](y)` is not a link. */
function prose(markdown: string): string {
  return markdown.replaceAll(/^```[\s\S]*?^```/gm, "").replaceAll(/`[^`\n]*`/g, "");
}

/** The targets of a document's links and images (`[text](target)`, `![alt](target "title")`). */
function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] ?? "");
}

/** The anchors GitHub gives a document's headings (github-slugger: lowercase, punctuation gone, spaces as dashes). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading = ""] of markdown.replaceAll(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading
      .trim()
      .toLowerCase()
      .replaceAll(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replaceAll(" ", "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/**
 * What is wrong with each relative link of `doc` (a path from `root`, whose Markdown is `text`): a
 * missing file, or a missing anchor.
 */
function brokenLinks(root: string, doc: string, text = readFileSync(join(root, doc), "utf8")): string[] {
  return linkTargets(text).flatMap((target) => {
    if (/^[a-z][a-z+.-]*:/i.test(target)) return []; // https:, mailto:: not ours to check
    const [path = "", anchor] = target.split("#");
    const file = normalize(join(root, path === "" ? doc : join(dirname(doc), decodeURIComponent(path))));
    if (path !== "" && !existsSync(file)) return [`${doc}: ${target} (no file ${relative(root, file)})`];
    if (anchor === undefined) return [];
    if (!file.endsWith(".md")) return [`${doc}: ${target} (an anchor into a file that is not Markdown)`];
    const headings = anchors(path === "" ? text : readFileSync(file, "utf8"));
    return headings.has(anchor) ? [] : [`${doc}: ${target} (no heading #${anchor})`];
  });
}

/** Where a relative link of `doc` leads, as a path from the repository root (undefined for an outside link). */
function linkedFile(doc: string, target: string): string | undefined {
  if (/^[a-z][a-z+.-]*:/i.test(target)) return undefined;
  const [path = ""] = target.split("#");
  return path === "" ? doc : relative(ROOT, join(ROOT, dirname(doc), decodeURIComponent(path)));
}

describe("the documentation's relative links", () => {
  it.each(documents)(
    "%s: every link leads to a file that exists, and every anchor to a heading in it",
    (doc) => {
      expect(brokenLinks(ROOT, doc)).toEqual([]);
    },
  );

  it("are links the checker sees: the README's and the guides' dozens of them", () => {
    const count = (doc: string): number => linkTargets(readFileSync(join(ROOT, doc), "utf8")).length;
    expect(count("README.md")).toBeGreaterThan(20);
    expect(documents.filter((d) => d.startsWith("docs/")).reduce((n, d) => n + count(d), 0)).toBeGreaterThan(
      5,
    );
  });

  it("the README links to every guide in docs/", () => {
    const linked = new Set(
      linkTargets(readFileSync(join(ROOT, "README.md"), "utf8")).map((t) => t.split("#")[0]),
    );
    const guides = documents.filter((d) => d.startsWith("docs/"));
    expect(guides.length).toBeGreaterThan(5);
    expect(guides.filter((g) => !linked.has(g))).toEqual([]);
  });

  it("the checker sees a missing file, a missing anchor and GitHub's anchors for headings with code and punctuation", () => {
    const text = [
      "# Channels (`grpc-mpsc`)",
      "## Results: the last full run",
      "## Results: the last full run",
      "```md",
      "# not a heading",
      "[not a link](nowhere.md)",
      "```",
      "[ok](#channels-grpc-mpsc) [ok](#results-the-last-full-run-1) [ok](README.md#install) `[code](nowhere.md)`",
      "[bad](#not-a-heading) [bad](missing.md) [bad](README.md#no-such-part) [outside](https://example.com/x.md)",
    ].join("\n");
    expect(anchors(text)).toEqual(
      new Set(["channels-grpc-mpsc", "results-the-last-full-run", "results-the-last-full-run-1"]),
    );
    expect(linkTargets(text)).not.toContain("nowhere.md");
    expect(brokenLinks(ROOT, "fixture.md", text)).toEqual([
      "fixture.md: #not-a-heading (no heading #not-a-heading)",
      "fixture.md: missing.md (no file missing.md)",
      "fixture.md: README.md#no-such-part (no heading #no-such-part)",
    ]);
  });
});

/**
 * Developer material that the README and the guides link to on the repository's site (GitHub) and that
 * the package does not ship: how to contribute, the benchmarks, the example programs, the tests.
 */
const REPOSITORY_ONLY = ["CONTRIBUTING.md", "bench/", "examples/", "test/"];

describe("the documentation the package ships", () => {
  it("holds every file the README and docs/*.md link to, but for the repository's developer material", () => {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    const [packed] = JSON.parse(out.slice(out.indexOf("["))) as [{ files: { path: string }[] }];
    const shipped = new Set(packed.files.map((f) => f.path));
    const userDocs = documents.filter((d) => d === "README.md" || d.startsWith("docs/"));
    for (const doc of userDocs) expect(shipped).toContain(doc);
    const linked = userDocs.flatMap((doc) =>
      linkTargets(readFileSync(join(ROOT, doc), "utf8"))
        .map((target) => linkedFile(doc, target))
        .filter((file): file is string => file !== undefined),
    );
    const unshipped = linked.filter(
      (file) => !shipped.has(file) && !REPOSITORY_ONLY.some((prefix) => file.startsWith(prefix)),
    );
    expect([...new Set(unshipped)]).toEqual([]);
  }, 60_000);
});
