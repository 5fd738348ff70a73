import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: [
      {
        find: /^grpc-mpsc\/grpc$/,
        replacement: fileURLToPath(new URL("./src/grpc/index.ts", import.meta.url)),
      },
      {
        find: /^grpc-mpsc\/node$/,
        replacement: fileURLToPath(new URL("./src/node/index.ts", import.meta.url)),
      },
      {
        find: /^grpc-mpsc\/concurrent$/,
        replacement: fileURLToPath(new URL("./src/concurrent/index.ts", import.meta.url)),
      },
      { find: /^grpc-mpsc$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
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
