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
        find: /^grpc-mpsc\/concurrent$/,
        replacement: fileURLToPath(new URL("./src/concurrent/index.ts", import.meta.url)),
      },
      { find: /^grpc-mpsc$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
