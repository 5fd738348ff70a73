/**
 * The names of the implementations the gRPC cases compare. Kept apart from the cases so that the
 * registry (and with it the runner and every worker) can name them without loading gRPC.
 */

/** The gRPC implementations compared; the first is ours. */
export const grpcImpls = ["grpc-mpsc", "raw grpc-js", "nice-grpc"] as const;
export type Impl = (typeof grpcImpls)[number];

/**
 * The cases that also run grpc-mpsc's own transport (`grpc-mpsc/h2`, client and server): echo,
 * ping-pong. The other gRPC cases get it in a later step (issue 19).
 */
export const h2Impls = [...grpcImpls, "h2"] as const;
export type H2Impl = (typeof h2Impls)[number];

/** The echo cases also measure the ceiling: gRPC framing over bare node:http2 (bench/cases/h2-ceiling.ts). */
export const echoImpls = [...h2Impls, "bare http2"] as const;
export type EchoImpl = (typeof echoImpls)[number];

/** The heap case compares our adapters with raw grpc-js (bench/cases/heap-process.ts). */
export const heapImpls = ["grpc-mpsc", "raw grpc-js"] as const;
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
 * messages to every open stream: `sendBroadcast` from a `broadcast`, the `Set` of calls that users
 * write (ignoring `write()`'s return value), and the same `Set` awaiting 'drain' of every full call.
 */
export const grpcFanoutImpls = [
  "grpc-mpsc",
  "raw grpc-js (naive Set)",
  "raw grpc-js honouring drain",
] as const;
export type GrpcFanoutImpl = (typeof grpcFanoutImpls)[number];
