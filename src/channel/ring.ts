/**
 * A growable FIFO ring buffer: amortised O(1) `push` and `shift` with no per-element allocation.
 *
 * The backing array's length is always a power of two so that wrapping is a bit-mask. It starts
 * small and doubles when full, so a channel with a large capacity that is mostly empty stays small.
 *
 * @internal
 */
export class Ring<T> {
  #items: (T | undefined)[];
  #mask: number;
  #head = 0;
  #length = 0;

  constructor(initialSize = 16) {
    let size = 4;
    while (size < initialSize) size *= 2;
    this.#items = new Array<T | undefined>(size);
    this.#mask = size - 1;
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
    const size = old.length;
    const next = new Array<T | undefined>(size * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#items = next;
    this.#head = 0;
    this.#mask = size * 2 - 1;
  }
}
