/**
 * The SVG chart: a horizontal bar per target ratio (grpc-mpsc over each peer), with a line at 1.
 * Green: goal met, red: not met, grey: reported without a goal.
 */
import type { Target } from "./report.js";

const xmlText = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** The chart of `bars`, titled as a quick run when `quick`. */
export function chart(bars: readonly Target[], quick: boolean): string {
  const rowH = 26;
  // Room for the longest label (about 6.6 px per character at 12 px sans-serif).
  const left = Math.max(300, 20 + Math.ceil(6.6 * Math.max(...bars.map((b) => b.name.length))));
  const W = left + 380;
  const maxRatio = Math.max(2, ...bars.map((b) => b.ratio));
  const x = (r: number): number => left + ((W - left - 40) * r) / maxRatio;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${bars.length * rowH + 50}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="18" font-size="14" font-weight="bold">grpc-mpsc: ratios against peers (same run${quick ? ", quick" : ""})</text>`,
    ...bars.map((b, i) => {
      const y = 30 + i * rowH;
      const color = b.goal === "(report)" ? "#757575" : b.met ? "#2e7d32" : "#c62828";
      return [
        `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${xmlText(b.name)}</text>`,
        `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(b.ratio) - left)}" height="16" fill="${color}"/>`,
        `<text x="${x(b.ratio) + 4}" y="${y + 15}">${b.ratio.toFixed(2)}</text>`,
      ].join("");
    }),
    `<line x1="${x(1)}" y1="26" x2="${x(1)}" y2="${bars.length * rowH + 34}" stroke="#333" stroke-dasharray="4 3"/>`,
    "</svg>",
  ].join("\n");
}
