import { sql } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { pruneFinished } from "../../src/app/admin/retention.js";
import { queryAudit, verifyAuditChain } from "../../src/db/audit-log.js";
import { mfaOidcFlows, mfaTokens } from "../../src/db/schema/mfa.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { DAY } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createHarness, type Harness, parseConfig } from "../support/harness.js";
import { crowdPolicy } from "../support/policies.js";

describeEachDatabase("retention", (driver) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  it("prunes finished jobs and expired MFA links past the retention, and nothing else", async () => {
    const { yaml, users } = crowdPolicy(1, "{ type: log }");
    h = await createHarness(driver, parseConfig(yaml));
    const now = h.clock.now();
    const ago = (days: number) => new Date(now.getTime() - days * DAY);
    const user = await h.user(users[0]!);
    const job = (id: string, status: "pending" | "done" | "failed" | "canceled", finishedDaysAgo: number | null) => ({
      id,
      kind: "grant",
      key: `holding:${id}`,
      payload: {},
      status,
      runAt: ago(40),
      finishedAt: finishedDaysAgo === null ? null : ago(finishedDaysAgo),
    });
    await h.handle.db
      .insert(outboxJobs)
      .values([
        job("job_old_done", "done", 31),
        job("job_old_failed", "failed", 45),
        job("job_old_canceled", "canceled", 31),
        job("job_recent_done", "done", 29),
        job("job_old_pending", "pending", null),
      ]);
    const token = (id: string, expiredDaysAgo: number) => ({
      id,
      tokenHash: `hash-${id}`,
      purpose: "activation" as const,
      principalId: user,
      csrf: "x",
      createdAt: ago(expiredDaysAgo + 1),
      expiresAt: ago(expiredDaysAgo),
    });
    await h.handle.db
      .insert(mfaTokens)
      .values([token("mfa_old", 31), token("mfa_recent", 2), token("mfa_old_flow", 40), token("mfa_live", -1)]);
    const flow = (stateHash: string, tokenId: string, expiredDaysAgo: number) => ({
      stateHash,
      tokenId,
      nonce: "n",
      codeVerifier: "v",
      createdAt: ago(expiredDaysAgo + 1),
      expiresAt: ago(expiredDaysAgo),
    });
    await h.handle.db
      .insert(mfaOidcFlows)
      .values([flow("state_old", "mfa_old_flow", 40), flow("state_recent", "mfa_recent", 2)]);

    expect(await pruneFinished(h.deps, 30 * DAY)).toEqual({ outboxJobs: 3, mfaTokens: 2, oidcFlows: 1 });

    const ids = async (table: typeof outboxJobs | typeof mfaTokens) =>
      (await h!.handle.db.select({ id: table.id }).from(table)).map((r) => r.id).sort();
    expect(await ids(outboxJobs)).toEqual(["job_old_pending", "job_recent_done"]);
    expect(await ids(mfaTokens)).toEqual(["mfa_live", "mfa_recent"]);
    const flows = await h.handle.db.select({ state: mfaOidcFlows.stateHash }).from(mfaOidcFlows);
    expect(flows).toEqual([{ state: "state_recent" }]);

    const [event] = await queryAudit(h.handle.db, { event: "retention.pruned" });
    expect(event).toMatchObject({ actor: "system", data: { outboxJobs: 3, mfaTokens: 2, oidcFlows: 1 } });
    expect((await verifyAuditChain(h.handle)).ok).toBe(true);

    // Nothing left to prune: no second event.
    expect(await pruneFinished(h.deps, 30 * DAY)).toEqual({ outboxJobs: 0, mfaTokens: 0, oidcFlows: 0 });
    expect(await queryAudit(h.handle.db, { event: "retention.pruned" })).toHaveLength(1);
  });

  it("works through a backlog larger than one batch", async () => {
    const { yaml } = crowdPolicy(1, "{ type: log }");
    h = await createHarness(driver, parseConfig(yaml));
    const finished = new Date(h.clock.now().getTime() - 60 * DAY).toISOString();
    await h.handle.db.execute(sql`
      insert into outbox_jobs (id, kind, key, payload, status, run_at, finished_at)
      select 'job_' || g, 'revoke', 'holding:' || g, '{}', 'done', ${finished}::timestamptz, ${finished}::timestamptz
      from generate_series(1, 12000) as g`);

    expect((await pruneFinished(h.deps, 30 * DAY)).outboxJobs).toBe(12000);
    const left = await h.handle.db.execute(sql`select count(*)::int as n from outbox_jobs`);
    expect(JSON.stringify(left)).toContain('"n":0');
  });
});
