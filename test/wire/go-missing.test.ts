import { join } from "node:path";
import { GRPC_GO, INSTALL_GRPC_GO } from "../support/go.js";
import { ROOT } from "../support/processes.js";
import { describeMissing } from "../support/requires.js";

describeMissing("a machine without Go or Debian's grpc-go", {
  requirement: GRPC_GO,
  helper: "describeWithGo",
  uses: /support\/go\.js/,
  self: "go-missing.test.ts",
  env: { GRPC_MPSC_TEST_GO: join(ROOT, "no-such-go") },
  install: INSTALL_GRPC_GO,
});
