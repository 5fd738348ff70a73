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

/**
 * RST_STREAM NO_ERROR a turn after a status went out (trailers, or trailers-only headers): tells a
 * client that holds its side of the stream open that the call is over (as grpc-go's server does), so
 * that it cannot hold the stream, and the session's graceful close with it, for ever. A turn later,
 * as nghttp2 would send a reset queued with the status before it.
 */
export function closeAfterStatus(stream: Http2Stream): void {
  setImmediate(() => {
    if (!stream.closed && !stream.destroyed) stream.close(NO_ERROR);
  });
}

/** HTTP/2's NO_ERROR (`constants.NGHTTP2_NO_ERROR`). */
const NO_ERROR = 0;
