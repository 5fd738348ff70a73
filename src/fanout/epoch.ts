/**
 * A feed's identity: a random token made when it starts, so that a client resuming from a sequence
 * number can tell "the feed I was reading" from "a feed that started again from 1".
 *
 * @internal
 */

/**
 * A new epoch: 16 random bytes as 32 lowercase hex digits, from `globalThis.crypto` (Web Crypto,
 * in Node, Bun, Deno and browsers alike: no `node:` import). `getRandomValues`, not `randomUUID`:
 * browsers offer the latter only in secure contexts.
 */
export function newEpoch(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let text = "";
  for (const b of bytes) text += b.toString(16).padStart(2, "0");
  return text;
}
