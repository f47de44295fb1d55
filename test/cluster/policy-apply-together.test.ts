/**
 * Replicas rolled out together on an empty database each apply the policy file at start-up: they
 * take turns, so the first creates everything and the others find nothing to change, instead of
 * all inserting the same people and failing on each other's rows.
 */
import { sql } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { systemClock } from "../../src/app/kernel/clock.js";
import { parsePimFile } from "../../src/config/pim-file.js";
import { verifyAuditChain } from "../../src/db/audit-log.js";
import { type DbHandle, openDatabase, resultRows } from "../../src/db/client.js";
import { createTestDatabase, describeOnPostgres, type TestDatabase } from "../support/databases.js";
import { crowdPolicy } from "./support/policy.js";

describeOnPostgres("the policy applied by replicas starting together", () => {
  let db: TestDatabase | undefined;
  const replicas: DbHandle[] = [];
  afterEach(async () => {
    for (const r of replicas.splice(0)) await r.close();
    await db?.dispose();
  });

  it("three replicas applying the same file at once: one applies it, the others change nothing", async () => {
    db = await createTestDatabase("postgres");
    const { yaml } = crowdPolicy({ users: 300, approvers: 30, roles: 10, webhookUrl: "http://127.0.0.1:1/" });
    const parsed = parsePimFile(yaml);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    // Each replica with its own connections, as separate processes have.
    for (let i = 0; i < 3; i++) replicas.push(await openDatabase({ driver: "postgres", url: db.url!, poolSize: 2 }));
    const applied = await Promise.all(
      replicas.map((r) => applyConfig({ db: r.db, clock: systemClock, events: { publish: () => {} } }, parsed.value)),
    );
    expect(applied.map((a) => a.changes > 0).sort()).toEqual([false, false, true]);
    const [counts] = resultRows<{ principals: number; applied: number }>(
      await db.db.execute(sql`select (select count(*) from principals)::int as principals,
        (select count(*) from audit_events where event = 'config.applied')::int as applied`),
    );
    expect(counts).toEqual({ principals: 330, applied: 1 });
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true });
  });
});
