/** Edits one audit event behind the application's back, as a database owner could (a separate process). */
import { sql } from "drizzle-orm";
import { openDatabase } from "../../src/db/client.js";

const [target, id] = process.argv.slice(2);
const handle = target!.startsWith("postgres")
  ? await openDatabase({ driver: "postgres", url: target! })
  : await openDatabase({ driver: "pglite", dataDir: target! });
await handle.db.transaction(async (tx) => {
  await tx.execute(sql`set local session_replication_role = replica`);
  await tx.execute(sql`update audit_events set actor = 'someone-else' where id = ${Number(id)}`);
});
await handle.close();
