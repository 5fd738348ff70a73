// Loaded with `--import` (vitest.config.ts puts it in NODE_OPTIONS when GRPC_MPSC_GRPC_JS names another
// copy): child processes of the tests (examples, fixtures) then load the grpc-js copy under test too,
// as the tests' own imports do through vitest's alias.
import { register } from "node:module";

register(
  `data:text/javascript,${encodeURIComponent(`
const target = ${JSON.stringify(process.env.GRPC_MPSC_GRPC_JS_ENTRY ?? "")};
export async function resolve(specifier, context, next) {
  if (target !== "" && specifier === "@grpc/grpc-js") return { url: target, format: "commonjs", shortCircuit: true };
  return next(specifier, context);
}`)}`,
);
