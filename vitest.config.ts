import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { isUnownedDriverRejection } from "./src/db/lost-connection.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Each worker process runs file after file with the modules it has loaded already, instead of
    // a fresh process importing the whole bot again per file. Test files share no state through
    // modules: every world, database and clock is built by the file itself.
    isolate: false,
    // Most files wait on databases, sockets and child processes more than they compute: three at
    // once even on two cores keeps both busy.
    maxWorkers: Math.max(3, availableParallelism() - 1),
    globalSetup: ["test/global-setup.ts"],
    // The rejections no code of ours can catch: the driver's own, on a connection the server has
    // just closed, in the database-restart faults (main.ts logs them in production).
    onUnhandledError: (error) => !isUnownedDriverRejection(error),
    setupFiles: ["test/setup-databases.ts"],
  },
});
