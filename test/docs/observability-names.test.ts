import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { channelEvents } from "../../src/channel/events.js";
import { callEvents } from "../../src/grpc/events.js";
import { ROOT } from "../support/processes.js";

/** The `grpc-mpsc:...` names a Markdown text mentions. */
const namesIn = (text: string): string[] =>
  [...new Set(text.match(/grpc-mpsc:[a-z-]+:[a-z-]+/g) ?? [])].sort();

describe("the names of the diagnostics events", () => {
  const published = [...Object.values(channelEvents), ...Object.values(callEvents)].sort();

  it("the README's Observability section lists every event the library publishes, and no other", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = /## Observability\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? "";
    expect(published.length).toBeGreaterThanOrEqual(8);
    expect(namesIn(section)).toEqual(published);
  });

  it("docs/observability.md documents each of them, and no other", () => {
    const doc = readFileSync(join(ROOT, "docs/observability.md"), "utf8");
    expect(namesIn(doc)).toEqual(published);
  });
});
