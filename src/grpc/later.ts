/**
 * A promise made only when asked for.
 *
 * @internal
 */

/**
 * A promise made only when somebody asks for it (most callers never read `headers`, many not
 * `status`: an idle stream should not pay for them), and settled whenever the outcome is known,
 * before or after that. Never an unhandled rejection.
 */
export class Later<T> {
  #promise: Promise<T> | undefined;
  #settle: ((outcome: Outcome<T>) => void) | undefined;
  #outcome: Outcome<T> | undefined;

  get promise(): Promise<T> {
    if (this.#promise === undefined) {
      const outcome = this.#outcome;
      this.#promise =
        outcome === undefined
          ? new Promise<T>((resolve, reject) => {
              this.#settle = (o) => (o.ok ? resolve(o.value) : reject(o.error));
            })
          : outcome.ok
            ? Promise.resolve(outcome.value)
            : Promise.reject(outcome.error);
      this.#promise.catch(() => {});
    }
    return this.#promise;
  }

  /** Whether it was resolved or rejected. */
  get settled(): boolean {
    return this.#outcome !== undefined;
  }

  resolve(value: T): void {
    this.#done({ ok: true, value });
  }

  reject(error: unknown): void {
    this.#done({ ok: false, error });
  }

  #done(outcome: Outcome<T>): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    this.#settle?.(outcome);
    this.#settle = undefined;
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };
