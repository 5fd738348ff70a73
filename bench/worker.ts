/**
 * A worker process that runs one implementation's cases (so implementations do not share JIT state or
 * heap), driven by `bench/run.ts` over IPC: `{ load }` warms the named case up and answers
 * `{ ready: true }`; each `"run"` runs one measured repetition (after a `gc()`) and answers
 * `{ result }`; `"exit"` ends it.
 */
import type { Sample } from "./define.js";
import type { FromWorker, Load, ToWorker } from "./protocol.js";
import { cases } from "./registry.js";

const send = (message: FromWorker): void => {
  process.send?.(message);
};

if (process.send === undefined) throw new Error("bench/worker.ts runs as a worker of bench/run.ts (IPC)");
let loaded: Load | undefined;
const measure = (load: Load, warm: boolean): Promise<Sample> => {
  const c = cases[load.name];
  if (c === undefined) throw new Error(`no case named ${load.name} in bench/registry.ts`);
  return c.measure(load.impl, load.params, warm);
};
const step = async (message: ToWorker): Promise<FromWorker | undefined> => {
  if (message === "exit") {
    process.disconnect();
    return undefined;
  }
  if (message === "run") {
    if (loaded === undefined) throw new Error("run before load");
    global.gc?.();
    return { result: await measure(loaded, false) };
  }
  loaded = message.load;
  await measure(loaded, true);
  return { ready: true };
};
process.on("message", (message: ToWorker) => {
  step(message).then(
    (answer) => {
      if (answer !== undefined) send(answer);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
