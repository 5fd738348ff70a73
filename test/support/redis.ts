/**
 * The suites that need Debian's `redis-server` (see redis-server.ts for the server itself).
 *
 * A machine without the package still passes `npm test`: {@link describeWithRedis} registers such
 * suites as skipped, with the install command in the output. CI sets `REQUIRE_REDIS=1`, under which
 * a missing package fails the suite instead.
 */
import { hasRedis, INSTALL_REDIS, REDIS_SERVER } from "./redis-server.js";
import { describeRequiring, type Requirement } from "./requires.js";

export { freePort, hasRedis, INSTALL_REDIS, type RedisServer, startRedis } from "./redis-server.js";

/**
 * `describe(name, fn)` for a suite that needs {@link REDIS_SERVER}. Without it the suite is skipped,
 * and the file prints why and the install command; with `REQUIRE_REDIS=1` it fails.
 */
export function describeWithRedis(name: string, fn: () => void): void {
  describeRequiring(REDIS, name, fn);
}

/** Debian's `redis-server`, as a requirement of a suite. */
export const REDIS: Requirement = {
  what: "redis-server",
  requireVar: "REQUIRE_REDIS",
  missing: () => (hasRedis() ? undefined : `${REDIS_SERVER} is missing; install it with: ${INSTALL_REDIS}`),
};
