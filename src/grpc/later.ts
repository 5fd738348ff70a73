/**
 * A promise made only when asked for.
 *
 * @internal
 */

/** A {@link Later}'s states. */
const PENDING = 0;
const RESOLVED = 1;
const REJECTED = 2;

/**
 * A promise made only when somebody asks for it (most callers never read `headers`, many not
 * `status`: an idle stream should not pay for them), and settled whenever the outcome is known,
 * before or after that. Never an unhandled rejection.
 */
export class Later<T> {
  #promise: Promise<T> | undefined;
  /** How to settle the promise, while one waits. */
  #settle: ((state: typeof RESOLVED | typeof REJECTED, value: unknown) => void) | undefined;
  /** Settled or not, and how (the outcome in two fields, not an object of its own: calls keep it). */
  #state: typeof PENDING | typeof RESOLVED | typeof REJECTED = PENDING;
  /** The value or the rejection's reason, once settled. */
  #value: unknown;

  get promise(): Promise<T> {
    if (this.#promise === undefined) {
      const state = this.#state;
      this.#promise =
        state === PENDING
          ? new Promise<T>((resolve, reject) => {
              this.#settle = (s, v) => (s === RESOLVED ? resolve(v as T) : reject(v));
            })
          : state === RESOLVED
            ? Promise.resolve(this.#value as T)
            : Promise.reject(this.#value);
      this.#promise.catch(() => {});
    }
    return this.#promise;
  }

  /** Whether it was resolved or rejected. */
  get settled(): boolean {
    return this.#state !== PENDING;
  }

  resolve(value: T): void {
    this.#done(RESOLVED, value);
  }

  reject(error: unknown): void {
    this.#done(REJECTED, error);
  }

  #done(state: typeof RESOLVED | typeof REJECTED, value: unknown): void {
    if (this.#state !== PENDING) return;
    this.#state = state;
    this.#value = value;
    this.#settle?.(state, value);
    this.#settle = undefined;
  }
}
