/**
 * A growable FIFO ring buffer: amortised O(1) `push` and `shift` with no per-element allocation.
 *
 * The backing array's length is always a power of two so that wrapping is a bit-mask. It is made on
 * the first push (an idle channel, such as one per open gRPC stream, holds no array) and doubles
 * when full, so a channel with a large capacity that is mostly empty stays small.
 *
 * @internal
 */
/** The backing array of every ring that has not been pushed to yet. */
const NONE: never[] = [];

export class Ring<T> {
  #items: (T | undefined)[] = NONE;
  /** `length - 1` of the backing array: -1 before the first push, so that push grows it. */
  #mask = -1;
  #head = 0;
  #length = 0;
  readonly #firstSize: number;

  /** @param initialSize the size of the array made on the first push (rounded up to a power of two, 4 at least). */
  constructor(initialSize = 16) {
    let size = 4;
    while (size < initialSize) size *= 2;
    this.#firstSize = size;
  }

  /** Number of values held. */
  get length(): number {
    return this.#length;
  }

  /** Appends `value` at the tail. */
  push(value: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = value;
    this.#length++;
  }

  /** Removes and returns the head; the caller checks `length` first. */
  shift(): T {
    const head = this.#head;
    const value = this.#items[head] as T;
    this.#items[head] = undefined;
    this.#head = (head + 1) & this.#mask;
    this.#length--;
    return value;
  }

  /** Removes up to `limit` values from the head into a new array. */
  shiftMany(limit: number): T[] {
    const n = Math.min(limit, this.#length);
    const out = new Array<T>(n);
    const items = this.#items;
    const mask = this.#mask;
    let head = this.#head;
    for (let i = 0; i < n; i++) {
      out[i] = items[head] as T;
      items[head] = undefined;
      head = (head + 1) & mask;
    }
    this.#head = head;
    this.#length -= n;
    return out;
  }

  #grow(): void {
    const old = this.#items;
    const size = old.length === 0 ? this.#firstSize : old.length * 2;
    const next = new Array<T | undefined>(size);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#items = next;
    this.#head = 0;
    this.#mask = size - 1;
  }
}
