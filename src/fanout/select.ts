/**
 * `select(ops)`: waits for the first of several channel operations and completes exactly that one.
 *
 * Each operation first tries to complete at once (in order, from a random start unless `biased`).
 * If none can, each parks a waiter on its own channel's list. The waiters carry a `claim` hook: the
 * list that hands one out calls it before delivering anything to it, and the claim withdraws every
 * other waiter from its list, untouched. All of this is synchronous, so no other code runs between
 * the winner being chosen and the losers leaving: a loser never takes a value nor enqueues one.
 *
 * @internal
 */
import { type Branch, invalidType, NOT_READY, positiveInteger, ready, SelectOp } from "../channel/index.js";

/** Options of {@link select}. */
export interface SelectOptions {
  /** Aborts the wait: `select` rejects with `signal.reason`, and no operation completes. */
  signal?: AbortSignal;
  /**
   * Try the operations that can complete at once in the order given (default `false`: from a random
   * one, so that an operation that is always ready does not starve those after it, as in Tokio and Go).
   */
  biased?: boolean;
}

/** What an operation completes with. */
export type SelectOpResult<Op> = Op extends SelectOp<infer R> ? R : never;

/**
 * What {@link select} resolves with: the index of the operation that completed and what it completed
 * with. For a tuple of operations it is a union that `index` narrows.
 */
export type Selected<Ops extends readonly SelectOp<unknown>[]> = {
  [K in keyof Ops]: {
    readonly index: K extends `${infer I extends number}` ? I : number;
    readonly value: SelectOpResult<Ops[K]>;
  };
}[number];

/**
 * Waits until one of `ops` can complete, completes it, and tells which: `{ index, value }`. The other
 * operations take nothing and enqueue nothing (unlike `Promise.race` over `recv()`s, whose losers
 * still consume a value each, which is then lost).
 *
 * Operations come from `rx.recvOp()` ({@link Receiver}, {@link BroadcastReceiver}), `tx.sendOp(v)`
 * ({@link Sender}) and `rx.changedOp()` ({@link WatchReceiver}). An operation that completes with an
 * error (a send into a closed channel, a receive from an aborted one) makes `select` reject with it;
 * the others still took nothing.
 *
 * @param ops one or more operations.
 * @param options `signal` to give up (the select rejects with its reason and nothing completes);
 * `biased` to try them in order.
 * @throws RangeError (as a rejection) for no operations, TypeError for something that is not one.
 *
 * @example
 * ```ts
 * const [jobsTx, jobs] = channel<string>(8);
 * const [, shutdown] = watch(false);
 * const got = await select([jobs.recvOp(), shutdown.changedOp()], { signal: AbortSignal.timeout(5000) });
 * if (got.index === 0) console.log("job", got.value); // string | undefined (undefined: jobs ended)
 * else console.log("shutting down");
 * ```
 */
export function select<const Ops extends readonly SelectOp<unknown>[]>(
  ops: Ops,
  options?: SelectOptions,
): Promise<Selected<Ops>> {
  try {
    check(ops);
  } catch (err) {
    return Promise.reject(err);
  }
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const n = ops.length;
  const start = options?.biased === true ? 0 : Math.floor(Math.random() * n);
  for (let k = 0; k < n; k++) {
    const index = (start + k) % n;
    let value: unknown;
    try {
      value = (ops[index] as SelectOp<unknown>).attempt();
    } catch (err) {
      return Promise.reject(err);
    }
    if (value !== NOT_READY) return ready({ index, value } as Selected<Ops>);
  }
  return park(ops, signal);
}

/** Parks every operation; the first to be handed out withdraws the others. */
function park<Ops extends readonly SelectOp<unknown>[]>(
  ops: Ops,
  signal: AbortSignal | undefined,
): Promise<Selected<Ops>> {
  return new Promise<Selected<Ops>>((resolve, reject) => {
    const waiters: Branch<unknown>[] = [];
    let done = false;
    /** Withdraws every waiter but the winner's (`-1`: all of them). */
    const finish = (winner: number): void => {
      done = true;
      waiters.forEach((w, i) => {
        if (i !== winner) (ops[i] as SelectOp<unknown>).withdraw(w);
      });
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = (): void => {
      if (done) return;
      finish(-1);
      reject((signal as AbortSignal).reason);
    };
    try {
      ops.forEach((op, index) => {
        const w = op.park();
        w.claim = () => finish(index);
        w.resolve = (value) => resolve({ index, value } as Selected<Ops>);
        w.reject = reject;
        waiters.push(w);
      });
    } catch (err) {
      // An operation that cannot wait (a second pending receive of one broadcast receiver).
      finish(-1);
      reject(err);
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function check(ops: unknown): void {
  if (!Array.isArray(ops)) throw invalidType("ops", "an array of operations", ops);
  positiveInteger(ops.length, "ops.length");
  ops.forEach((op: unknown, i) => {
    if (!(op instanceof SelectOp))
      throw invalidType(`ops[${i}]`, "an operation such as rx.recvOp() or tx.sendOp(value)", op);
  });
}
