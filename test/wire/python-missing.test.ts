import { join } from "node:path";
import { ROOT } from "../support/processes.js";
import { INSTALL_PYTHON_GRPC, PYTHON_GRPC } from "../support/python.js";
import { describeMissing } from "../support/requires.js";

describeMissing("a machine without python3-grpcio", {
  requirement: PYTHON_GRPC,
  helper: "describeWithPython",
  uses: /python3|spawnPython|\.py\b/,
  self: "python-missing.test.ts",
  env: { GRPC_MPSC_TEST_PYTHON: join(ROOT, "no-such-python") },
  install: INSTALL_PYTHON_GRPC,
});
