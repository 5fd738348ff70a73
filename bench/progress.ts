/**
 * Progress on stderr: which configuration runs, which round of how many, the time since the start and
 * an estimate of the time left. The estimate comes from each configuration's rough duration (its
 * `seconds` in bench/registry.ts), scaled by how fast this machine has gone through the ones done so
 * far. On a terminal the status line is rewritten in place; otherwise each step is a line of its own.
 */

/** One planned configuration: a label and its rough duration. */
export interface Step {
  readonly label: string;
  readonly seconds: number;
}

const clock = (s: number): string => {
  const t = Math.max(0, Math.round(s));
  return t < 60 ? `${t} s` : `${Math.floor(t / 60)} min ${String(t % 60).padStart(2, "0")} s`;
};

export class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #began = performance.now();
  readonly #total: number;
  /** Estimated seconds of the finished configurations. */
  #done = 0;
  #current: Step | undefined;
  #status = "";

  constructor(plan: readonly Step[], out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#total = plan.reduce((sum, s) => sum + s.seconds, 0);
  }

  /** Seconds since the start. */
  elapsed(): number {
    return (performance.now() - this.#began) / 1000;
  }

  /** A line that stays (a result), printed above the status line. */
  log(line: string): void {
    if (this.#tty && this.#status !== "") this.#out.write("\r\x1b[K");
    this.#out.write(`${line}\n`);
    if (this.#tty && this.#status !== "") this.#out.write(this.#status);
  }

  /** Configuration `step` begins. */
  begin(step: Step): void {
    if (this.#current) this.#done += this.#current.seconds;
    this.#current = step;
    this.log(`[${this.elapsed().toFixed(1)} s] ${step.label}`);
  }

  /**
   * Where the current configuration is (`"round 2/9"`), and the share of its work done so far (0 to
   * 1), from which the time left is estimated.
   */
  at(where: string, fraction: number): void {
    const step = this.#current;
    if (step === undefined) return;
    const doneEstimate = this.#done + step.seconds * Math.min(1, Math.max(0, fraction));
    const elapsed = this.elapsed();
    // Until something is done, trust the estimates; then scale them by this machine's pace so far.
    const pace = doneEstimate > 0 ? elapsed / doneEstimate : 1;
    const left = (this.#total - doneEstimate) * pace;
    const line = `[${clock(elapsed)}] ${step.label} · ${where} · about ${clock(left)} left`;
    if (this.#tty) {
      this.#status = line;
      this.#out.write(`\r\x1b[K${line}`);
    } else {
      this.#out.write(`  ${line}\n`);
    }
  }

  /** The run is over: clears the status line. */
  end(): void {
    if (this.#tty && this.#status !== "") this.#out.write("\r\x1b[K");
    this.#status = "";
  }
}
