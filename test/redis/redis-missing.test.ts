import { join } from "node:path";
import { ROOT } from "../support/processes.js";
import { INSTALL_REDIS, REDIS } from "../support/redis.js";
import { describeMissing } from "../support/requires.js";

describeMissing("a machine without redis-server", {
  requirement: REDIS,
  helper: "describeWithRedis",
  uses: /support\/redis\.js/,
  self: "redis-missing.test.ts",
  env: { GRPC_MPSC_TEST_REDIS: join(ROOT, "no-such-redis-server") },
  install: INSTALL_REDIS,
});
