import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most files wait on databases, sockets and child processes more than they compute: three at
    // once even on two cores keeps both busy.
    maxWorkers: Math.max(3, availableParallelism() - 1),
    globalSetup: ["test/global-setup.ts"],
    setupFiles: ["test/setup-databases.ts"],
  },
});
