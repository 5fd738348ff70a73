/**
 * What an idle bidi stream keeps on the heap, by kind of object: `node --expose-gc --import tsx
 * bench/cases/heap-profile.ts <grpc-mpsc|raw grpc-js|h2> <streams>` opens the streams of the heap case
 * (bench/cases/heap-process.ts), takes a V8 heap snapshot before and one while they are held, and
 * prints, per stream, the objects that are new between the two, grouped by V8's node type and name
 * (a constructor, `(closure)`-like names for functions, `system / Context` for closures' scopes),
 * with their count and self size, largest first, as JSON. `native` rows (Node's C++ objects, nghttp2's
 * memory) are in the snapshot but not in the JS heap the heap case counts: `jsBytesPerStream` leaves
 * them out. Not part of `npm run bench`: a tool for reading where the heap case's bytes go
 * (bench/README.md).
 */
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeHeapSnapshot } from "node:v8";
import { type AtSettled, heapArgs, heapPerStream } from "./heap-process.js";

/** The parts of a V8 heap snapshot that the profile reads. */
interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and self size of every (type, name) group of objects in a snapshot. */
function groups(file: string): Map<string, { count: number; bytes: number }> {
  const snap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] ?? 0] ?? "?";
    let name = snap.strings[snap.nodes[i + nameAt] ?? 0] ?? "?";
    if (type === "string" || type === "concatenated string" || type === "sliced string") name = "";
    if (type === "number") name = "";
    const key = `${type} ${name.slice(0, 60)}`;
    const group = out.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += snap.nodes[i + sizeAt] ?? 0;
    out.set(key, group);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { impl, streams } = heapArgs("heap-profile.ts");
  const files: Record<string, string> = {};
  const atSettled: AtSettled = (moment) => {
    files[moment] = writeHeapSnapshot(join(tmpdir(), `heap-profile-${process.pid}-${moment}.heapsnapshot`));
  };
  const kib = await heapPerStream(impl, streams, atSettled);
  const { baseline, held } = files;
  if (baseline === undefined || held === undefined) throw new Error("heap profile: no snapshots taken");
  const before = groups(baseline);
  const after = groups(held);
  rmSync(baseline);
  rmSync(held);
  const rows = [...after]
    .map(([key, g]) => {
      const b = before.get(key) ?? { count: 0, bytes: 0 };
      return { key, perStream: (g.count - b.count) / streams, bytesPerStream: (g.bytes - b.bytes) / streams };
    })
    .filter((r) => r.bytesPerStream >= 8)
    .sort((a, b) => b.bytesPerStream - a.bytesPerStream);
  const total = rows.reduce((sum, r) => sum + r.bytesPerStream, 0);
  const js = rows.reduce((sum, r) => (r.key.startsWith("native ") ? sum : sum + r.bytesPerStream), 0);
  const summary = {
    impl,
    streams,
    kib,
    snapshotBytesPerStream: Math.round(total),
    jsBytesPerStream: Math.round(js),
    rows,
  };
  console.log(JSON.stringify(summary, null, 1));
}
