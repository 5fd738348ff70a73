/**
 * The runner's command line: `--quick`, `--only=section,...`, `--reps=N`.
 */

/** How this run was asked for. */
export interface RunOptions {
  /** The same cases with fewer messages and repetitions: under a minute, saved as `quick.*`. */
  readonly quick: boolean;
  /** `--only=channel,echo,...`: the sections to run; `undefined` runs every one. */
  readonly only: readonly string[] | undefined;
  /** Repetitions per configuration (5; `--reps=N` sets it). */
  readonly reps: number;
  /** Repetitions of the gRPC throughput cases, whose noise comes in bursts of seconds (9 in a full run). */
  readonly throughputReps: number;
  /** A run narrowed by `--only` or `--reps`: its results are printed, not saved. */
  readonly partial: boolean;
}

/** Parses the runner's arguments (`process.argv.slice(2)`). @throws RangeError for a bad `--reps`. */
export function parseArgs(argv: readonly string[]): RunOptions {
  const arg = (name: string): string | undefined =>
    argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const quick = argv.includes("--quick");
  const only = arg("only")
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const repsArg = arg("reps");
  const reps = Number(repsArg ?? 5);
  if (!Number.isInteger(reps) || reps < 1) {
    throw new RangeError(`--reps must be an integer >= 1, got ${repsArg}`);
  }
  return {
    quick,
    only,
    reps,
    throughputReps: repsArg === undefined && !quick ? 9 : reps,
    partial: only !== undefined || repsArg !== undefined,
  };
}
