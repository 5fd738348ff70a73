/**
 * Readers of values that a peer, a handler or grpc-js hands us and that may be hostile: a getter
 * that throws, a Proxy whose traps throw or a revoked one, a value whose `toString` throws. Each
 * reader answers something printable or `undefined` instead of throwing, so that no such value can
 * take the process down. A leaf: it imports nothing, so every other file may use it.
 *
 * @internal
 */

/**
 * Reads `key` of `value`: `undefined` if it is not an object or if the read throws (a hostile getter,
 * a Proxy whose traps throw or a revoked one must not take the process down).
 */
export function field(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** A printable message for any thrown value, without calling anything that may throw. */
export function messageOf(reason: unknown): string {
  if (typeof reason === "string") return reason;
  if (typeof reason === "object" && reason !== null) {
    const message = field(reason, "message");
    if (typeof message === "string") return message;
  }
  try {
    return String(reason);
  } catch {
    return "unprintable error";
  }
}
