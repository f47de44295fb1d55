/**
 * Edits the oldest audit event behind the application's back, as a database owner could (triggers
 * off under the replica role), and returns its id.
 */
import { sql } from "drizzle-orm";
import { type DbHandle, resultRows } from "../../src/db/client.js";

export async function tamperWithOldestEvent(handle: DbHandle): Promise<string> {
  const edited = await handle.db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`);
    const rows = resultRows<{ id: string }>(
      await tx.execute(
        sql`update audit_events set actor = 'someone-else' where id = (select min(id) from audit_events) returning id::text as id`,
      ),
    );
    return rows[0]?.id;
  });
  if (!edited) throw new Error("no audit event to edit");
  return edited;
}
