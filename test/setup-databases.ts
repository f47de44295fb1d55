import { afterAll } from "vitest";
import { drainDatabasePool } from "./support/databases.js";

// Test databases are reused within a test file; when the file ends they are closed and dropped.
afterAll(async () => {
  await drainDatabasePool();
});
