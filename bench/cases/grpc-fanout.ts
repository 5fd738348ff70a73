/**
 * gRPC fan-out: one publisher, many server-streaming calls, each given every message; once with every
 * client reading, once with one of them stalled. Each measurement runs in a fresh process
 * (bench/cases/grpc-fanout-process.ts, where the method is described), so that its peak RSS is its own;
 * one repetition runs both configurations back to back, so that their ratio pairs two runs seconds
 * apart.
 */
import { runProcess } from "../process.js";
import type { FanoutParams, FanoutRun, Stalled } from "./grpc-fanout-process.js";
import { type GrpcFanoutImpl, grpcFanoutImpls, implOf } from "./impls.js";

export type { FanoutParams } from "./grpc-fanout-process.js";

/** One repetition: both configurations of one implementation. */
export type FanoutSample = {
  /** Healthy-client throughput with every client reading, messages per second. */
  readonly none: number;
  /** The same with one client stalled. */
  readonly one: number;
  /** `one / none`: what one stalled client costs the others. */
  readonly ratio: number;
  /** Peak RSS above the baseline, MiB, with none and with one stalled. */
  readonly rssNone: number;
  readonly rssOne: number;
  /** Messages the server held for the stalled client at the end (see `FanoutRun.backlog`). */
  readonly backlog: number;
};

/** One fresh process of `impl` in one configuration; it is killed if it runs past its bound. */
export async function fanoutRun(
  impl: GrpcFanoutImpl,
  stalled: Stalled,
  params: FanoutParams,
): Promise<FanoutRun> {
  const bound = (params.seconds + 60) * 1000;
  const out = await runProcess(
    "bench/cases/grpc-fanout-process.ts",
    [impl, stalled, JSON.stringify(params)],
    bound,
  );
  return out as FanoutRun;
}

/** Which configuration of a pair runs first alternates from one repetition to the next. */
let noneFirst = true;

/** Both configurations of `impl`, back to back, each in a process of its own. */
export async function fanoutPair(implName: string, params: FanoutParams): Promise<FanoutSample> {
  const impl = implOf(grpcFanoutImpls, implName);
  const first: Stalled = noneFirst ? "none" : "one";
  noneFirst = !noneFirst;
  const a = await fanoutRun(impl, first, params);
  const b = await fanoutRun(impl, first === "none" ? "one" : "none", params);
  const [none, one] = first === "none" ? [a, b] : [b, a];
  return {
    none: none.rate,
    one: one.rate,
    ratio: one.rate / none.rate,
    rssNone: none.peakMiB,
    rssOne: one.peakMiB,
    backlog: one.backlog,
  };
}
