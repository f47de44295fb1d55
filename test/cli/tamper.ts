/**
 * Edits the oldest audit event behind the application's back, as a database owner could (a separate
 * process), and prints its id.
 */
import { sql } from "drizzle-orm";
import { openDatabase, resultRows } from "../../src/db/client.js";

const [target] = process.argv.slice(2);
const handle = target!.startsWith("postgres")
  ? await openDatabase({ driver: "postgres", url: target! })
  : await openDatabase({ driver: "pglite", dataDir: target! });
const edited = await handle.db.transaction(async (tx) => {
  await tx.execute(sql`set local session_replication_role = replica`);
  const rows = resultRows<{ id: string }>(
    await tx.execute(
      sql`update audit_events set actor = 'someone-else' where id = (select min(id) from audit_events) returning id::text as id`,
    ),
  );
  return rows[0]?.id;
});
await handle.close();
process.stdout.write(`${edited}\n`);
