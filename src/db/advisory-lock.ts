import { sql } from "drizzle-orm";
import type { Executor } from "./client.js";

/**
 * Takes a transaction-scoped advisory lock: work that must not run twice at once across replicas
 * (applying pim.yaml, evaluating alerts) queues behind it until the holder's transaction ends.
 */
export async function lockForTransaction(tx: Executor, key: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${key})`);
}
