/**
 * The streaming shapes beyond the reference service's bidi echo, on the bench service
 * (proto/bench.proto): a server-streaming flood, a client-streaming upload, and a bidi echo of large
 * messages. Each returns its rate and checks that every message arrived once and in order (it throws
 * otherwise).
 */
import type { Chunk } from "../../examples/generated/bench.js";
import { connect } from "./grpc-clients.js";
import { timed } from "./grpc-servers.js";
import { payloadOf } from "./grpc-types.js";
import type { EchoImpl } from "./impls.js";

/** Checks that chunk `i` is the `i`-th sent, with the payload size sent, and counts them. */
export class ChunkCheck {
  count = 0;

  constructor(readonly size: number) {}

  readonly see = (chunk: Chunk, i: number): void => {
    if (chunk.seq !== i) throw new Error(`message ${i} carried seq ${chunk.seq}`);
    if (chunk.payload.length !== this.size) {
      throw new Error(`message ${i}: ${chunk.payload.length} payload bytes, not ${this.size}`);
    }
    this.count++;
  };

  done(n: number): void {
    if (this.count !== n) throw new Error(`received ${this.count} of ${n} messages`);
  }
}

/** Server streaming: the server sends `count` chunks of `size` bytes as fast as flow control allows; messages per second. */
export async function flood(impl: EchoImpl, count: number, size: number): Promise<number> {
  const check = new ChunkCheck(size);
  const seconds = await timed(
    impl,
    (port) => connect(impl, port),
    (c) => c.flood({ count, size }, check.see),
  );
  check.done(count);
  return count / seconds;
}

/** Client streaming: the client sends `n` chunks of `size` bytes, the server reports what it read; messages per second. */
export async function upload(impl: EchoImpl, n: number, size: number): Promise<number> {
  const payload = payloadOf(size);
  const seconds = await timed(
    impl,
    (port) => connect(impl, port),
    async (c) => {
      const { received, inOrder, bytes } = await c.upload(n, (seq) => ({ seq, payload }));
      if (received !== n || inOrder !== n || bytes !== n * size) {
        throw new Error(`upload of ${n}: the server read ${received}, ${inOrder} in order, ${bytes} bytes`);
      }
    },
  );
  return n / seconds;
}

/** Bidi echo of `n` chunks of `size` bytes on one stream; payload megabytes (10^6) echoed per second. */
export async function chunkEcho(impl: EchoImpl, n: number, size: number): Promise<number> {
  const payload = payloadOf(size);
  const check = new ChunkCheck(size);
  const seconds = await timed(
    impl,
    (port) => connect(impl, port),
    (c) => c.chunks(n, (seq) => ({ seq, payload }), check.see),
  );
  check.done(n);
  return (n * size) / 1e6 / seconds;
}
