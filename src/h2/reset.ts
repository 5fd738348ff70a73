/**
 * RST_STREAM without an END_STREAM before it.
 *
 * Node's `Http2Stream.close(code)` ends the writable side first when it is still open (`end()`,
 * whose `_final` sends an empty DATA frame with END_STREAM), then sends RST_STREAM once that write
 * completed: a peer reads a half-close, acts on it, and only milliseconds later learns of the reset
 * (seen here on Node 20 and 24: END_STREAM, then RST_STREAM(CANCEL) about 9 ms later; Bun's
 * oven-sh/bun#33380 describes the same order in Node). A gRPC server then takes a cancel for a
 * clean end of the requests. Skipping `_final` for this one stream leaves the END_STREAM out, and the
 * RST_STREAM goes at once.
 *
 * @internal
 */
import type { Http2Stream } from "node:http2";

/** Resets `stream` with `code`, with no END_STREAM sent before the reset. */
export function resetStream(stream: Http2Stream, code: number): void {
  if (stream.closed || stream.destroyed) return;
  if (!stream.writableEnded) {
    (stream as unknown as { _final: (cb: (error?: Error | null) => void) => void })._final = (cb) => cb();
  }
  stream.close(code);
}
