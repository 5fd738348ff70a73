/**
 * The names of the implementations the gRPC cases compare. Kept apart from the cases so that the
 * registry (and with it the runner and every worker) can name them without loading gRPC.
 */

/** The gRPC implementations compared; the first is ours. */
export const grpcImpls = ["grpc-mpsc", "raw grpc-js", "nice-grpc"] as const;
export type Impl = (typeof grpcImpls)[number];

/** grpc-mpsc's own transport (`grpc-mpsc/h2`, client and server) beside the grpc-js implementations. */
export const h2Impls = [...grpcImpls, "h2"] as const;
export type H2Impl = (typeof h2Impls)[number];

/**
 * Every gRPC case on one connection (echo, ping-pong, concurrent streams, flood, upload, large
 * messages) also measures the ceiling: gRPC framing over bare node:http2 (bench/cases/h2-ceiling.ts).
 */
export const echoImpls = [...h2Impls, "bare http2"] as const;
export type EchoImpl = (typeof echoImpls)[number];

/**
 * The ping-pong case also measures the floor of a round trip over node:http2: a server writing each
 * chunk back as it came, no codec and no promise (`pingPongFloor` in bench/cases/h2-ceiling.ts).
 */
export const pingPongImpls = [...echoImpls, "http2 floor"] as const;
export type PingPongImpl = (typeof pingPongImpls)[number];

/**
 * The mixed pairs of the echo case: the h2 server with a grpc-js client (grpc-mpsc's adapters) and a
 * grpc-js server (the adapters) with the h2 client, beside the pure pairs, so that the report shows
 * which side the time goes to.
 */
export const mixedPairs = {
  "h2 server + grpc-mpsc client": { server: "h2", client: "grpc-mpsc" },
  "grpc-mpsc server + h2 client": { server: "grpc-mpsc", client: "h2" },
} as const satisfies Record<string, { server: H2Impl; client: H2Impl }>;
export type MixedPair = keyof typeof mixedPairs;

/** The echo case's implementations: every one of {@link echoImpls}, then the mixed pairs. */
export const echoCaseImpls = [...echoImpls, ...(Object.keys(mixedPairs) as MixedPair[])] as const;
export type EchoCaseImpl = (typeof echoCaseImpls)[number];

/** The server and the client of `impl`: one implementation on both sides, or a mixed pair's two. */
export function sidesOf(impl: EchoCaseImpl): { server: EchoImpl; client: EchoImpl } {
  return impl in mixedPairs
    ? mixedPairs[impl as MixedPair]
    : { server: impl as EchoImpl, client: impl as EchoImpl };
}

/**
 * The heap case compares our adapters and our own transport with raw grpc-js and the bare-http2
 * ceiling (bench/cases/heap-process.ts).
 */
export const heapImpls = ["grpc-mpsc", "raw grpc-js", "h2", "bare http2"] as const;
export type HeapImpl = (typeof heapImpls)[number];

/** Narrows an implementation name given as a string to one of `impls`. */
export function implOf<I extends string>(impls: readonly I[], impl: string): I {
  if (!(impls as readonly string[]).includes(impl)) {
    throw new Error(`${impl}: not one of ${impls.join(", ")}`);
  }
  return impl as I;
}

/**
 * The gRPC fan-out case (bench/cases/grpc-fanout.ts) compares servers that send one publisher's
 * messages to every open stream: `sendBroadcast` from a `broadcast` (in the adapters' handler on
 * grpc-js, and in an h2 handler), the `Set` of calls that users write (ignoring `write()`'s return
 * value), and the same `Set` awaiting 'drain' of every full call.
 */
export const grpcFanoutImpls = [
  "grpc-mpsc",
  "h2",
  "raw grpc-js (naive Set)",
  "raw grpc-js honouring drain",
] as const;
export type GrpcFanoutImpl = (typeof grpcFanoutImpls)[number];
