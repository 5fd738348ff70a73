import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * The copies of @grpc/grpc-js the tests can run on (npm aliases in devDependencies, so `npm ci` installs
 * them): `GRPC_MPSC_GRPC_JS=floor` runs src, tests and their child processes on the peer range's floor;
 * unset, on the devDependency (the newest 1.x).
 */
const grpcJsCopies: Record<string, string> = {
  newest: "node_modules/@grpc/grpc-js",
  floor: "node_modules/grpc-js-floor",
};
const chosen = process.env.GRPC_MPSC_GRPC_JS || "newest";
const grpcJsDir = grpcJsCopies[chosen];
if (grpcJsDir === undefined || !existsSync(join(root, grpcJsDir, "package.json"))) {
  throw new Error(
    `GRPC_MPSC_GRPC_JS=${chosen}: expected one of ${Object.keys(grpcJsCopies).join(", ")} (installed by npm ci)`,
  );
}
const grpcJsEntry = join(
  root,
  grpcJsDir,
  (JSON.parse(readFileSync(join(root, grpcJsDir, "package.json"), "utf8")) as { main: string }).main,
);
// Read by test/support/grpc.ts (which copy, for messages and the two-copies test) and by the hook that
// child processes load.
process.env.GRPC_MPSC_GRPC_JS_DIR = join(root, grpcJsDir);
process.env.GRPC_MPSC_GRPC_JS_ENTRY = pathToFileURL(grpcJsEntry).href;
if (chosen !== "newest") {
  const hook = `--import=${pathToFileURL(join(root, "test/support/grpc-js-alias.mjs")).href}`;
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, hook].filter(Boolean).join(" ");
}

export default defineConfig({
  resolve: {
    alias: [
      {
        find: /^grpc-mpsc\/grpc$/,
        replacement: fileURLToPath(new URL("./src/grpc/index.ts", import.meta.url)),
      },
      {
        find: /^grpc-mpsc\/h2$/,
        replacement: fileURLToPath(new URL("./src/h2/index.ts", import.meta.url)),
      },
      {
        find: /^grpc-mpsc\/node$/,
        replacement: fileURLToPath(new URL("./src/node/index.ts", import.meta.url)),
      },
      {
        find: /^grpc-mpsc\/redis$/,
        replacement: fileURLToPath(new URL("./src/redis/index.ts", import.meta.url)),
      },
      {
        find: /^grpc-mpsc\/concurrent$/,
        replacement: fileURLToPath(new URL("./src/concurrent/index.ts", import.meta.url)),
      },
      { find: /^grpc-mpsc$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      ...(chosen === "newest" ? [] : [{ find: /^@grpc\/grpc-js$/, replacement: grpcJsEntry }]),
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // A rejection nobody handles is a crash, as in production with Node's default; gc() lets the
    // tests that are about garbage-collected handles collect them.
    execArgv: ["--unhandled-rejections=strict", "--expose-gc"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
