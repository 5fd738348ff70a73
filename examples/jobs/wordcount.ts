/**
 * The word-count logic, free of any transport: reading the input into chunks, the map step (count
 * and partition), the reduce step (sum), and a direct single-process count to check against.
 *
 * Not a program of its own: `npm run example:jobs` (examples/jobs/main.ts) uses it.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Partition, WordCount } from "../generated/jobs.js";

/** Words are runs of letters, digits and apostrophes, lower-cased. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
}

/** Which reduce partition a word belongs to (FNV-1a hash). */
export function partitionOf(word: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

/** The map step: counts the words of `text`, split by partition. */
export function mapChunk(text: string, partitions: number): Partition[] {
  const maps = Array.from({ length: partitions }, () => new Map<string, number>());
  for (const w of words(text)) {
    const m = maps[partitionOf(w, partitions)] as Map<string, number>;
    m.set(w, (m.get(w) ?? 0) + 1);
  }
  return maps.map((m, index) => ({ index, counts: [...m].map(([word, count]) => ({ word, count })) }));
}

/** The reduce step: sums the counts of one partition. */
export function reduceCounts(counts: WordCount[]): WordCount[] {
  const total = new Map<string, number>();
  for (const { word, count } of counts) total.set(word, (total.get(word) ?? 0) + count);
  return [...total].map(([word, count]) => ({ word, count }));
}

/** One chunk of input text for a map task. */
export interface Chunk {
  source: string;
  text: string;
}

/**
 * Reads every regular file of `dir` (sorted, not recursive) and cuts it into chunks of about
 * `chunkBytes` at line ends, so no word is split.
 *
 * @throws Error with a clear message if `dir` is missing, not a folder, unreadable or empty.
 */
export async function readChunks(dir: string, chunkBytes = 64 * 1024): Promise<Chunk[]> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error("not a folder");
    names = (await readdir(dir)).sort();
  } catch (err) {
    throw new Error(`cannot read input folder ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const chunks: Chunk[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    const text = await readFile(path, "utf8");
    for (let start = 0; start < text.length; ) {
      let end = Math.min(text.length, start + chunkBytes);
      if (end < text.length) {
        const nl = text.indexOf("\n", end);
        end = nl === -1 ? text.length : nl + 1;
      }
      chunks.push({ source: `${name}@${start}`, text: text.slice(start, end) });
      start = end;
    }
  }
  if (chunks.length === 0) throw new Error(`input folder ${dir} holds no text files`);
  return chunks;
}

/** The reference: a direct count in this process. */
export function countDirectly(chunks: Chunk[]): Map<string, number> {
  const total = new Map<string, number>();
  for (const c of chunks) for (const w of words(c.text)) total.set(w, (total.get(w) ?? 0) + 1);
  return total;
}
