import { randomBytes } from "node:crypto";
import { and, eq } from "drizzle-orm";
import postgres from "postgres";
import { afterEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { AlertTriggers } from "../../src/app/alerts/evaluate.js";
import { noDelivery } from "../../src/app/notices/delivery.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { alerts } from "../../src/db/schema/alerts.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { HOUR } from "../../src/domain/duration.js";
import { Scheduler } from "../../src/jobs/scheduler.js";
import { describeOnPostgres, TEST_DATABASE_URL, withDatabase } from "../support/databases.js";
import { silentLogger } from "../support/engine.js";
import { createHarness, eventually, type Harness, LiveClock, parseConfig } from "../support/harness.js";
import { PostgresTarget } from "../support/postgres-target.js";
import { SwitchProxy } from "./support/switch-proxy.js";

/** Users u1..u6; `app-admin` on the log connector, `db-admin` on a PostgreSQL target whose URL is in PIM_TEST_TARGET_URL. */
function policy(targetRole: string): string {
  const users = ["u1", "u2", "u3", "u4", "u5", "u6"];
  return `
version: 1
users:
${users.map((u) => `  - { key: ${u}, name: ${u}, email: ${u}@example.com }`).join("\n")}
defaults:
  activation: { maxDuration: 8h, requireMfa: false, requireJustification: false, requireApproval: false }
roles:
  - { key: app-admin, name: App Administrator }
  - key: db-admin
    name: Database Administrator
    connector: { type: postgres, urlEnv: PIM_TEST_TARGET_URL, role: ${targetRole}, timeout: 5s }
assignments:
${users.flatMap((u) => [`  - { principal: ${u}, role: app-admin, kind: eligible }`, `  - { principal: ${u}, role: db-admin, kind: eligible }`]).join("\n")}
`;
}

describeOnPostgres("a connector target that is down", () => {
  let e: Harness | undefined;
  let scheduler: Scheduler | undefined;
  let triggers: AlertTriggers | undefined;
  let target: PostgresTarget | undefined;
  let proxy: SwitchProxy | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];

  afterEach(async () => {
    await scheduler?.stop();
    await triggers?.idle();
    await e?.dispose();
    await proxy?.stop();
    await target?.dispose();
    for (const c of cleanups.splice(0)) await c().catch(() => {});
    e = scheduler = triggers = target = proxy = undefined;
  });

  /** The bot's engine, scheduler and alert triggers on the real clock, as a replica runs them. */
  async function start(role: string, url: string) {
    e = await createHarness("postgres", parseConfig(policy(role)), {
      env: { PIM_TEST_TARGET_URL: url },
      clock: new LiveClock(),
      worker: { backoffBaseMs: 300, backoffMaxMs: 600, targetAlertAfterMs: 1_500 },
    });
    const h = e;
    triggers = new AlertTriggers(h.deps, noDelivery, (error) => console.error(error));
    scheduler = new Scheduler(h.deps, h.worker, h.deps.units!.claims, silentLogger, {
      sweepIntervalMs: 250,
      timerHorizonMs: 60_000,
    });
    h.subscribe(scheduler.onEvent);
    h.subscribe(triggers.onEvent);
    await scheduler.start();
    const ask = async (user: string, role: string) => {
      const r = await requestActivation(h.deps, {
        requesterId: await h.user(user),
        roles: [{ roleId: await h.role(role) }],
        durationMs: HOUR,
        origin: "api",
      });
      if (!r.ok) throw new Error(r.error.message);
      return r.value.activations[0]!.id;
    };
    const status = async (id: string) => (await getActivation(h.deps.db, id))!.status;
    const alert = async () => {
      const [row] = await h.deps.db.select().from(alerts).where(eq(alerts.rule, "target_failing"));
      return row;
    };
    return { h, ask, status, alert };
  }

  it("grants on a healthy target at once while another hangs, retries on schedule, alerts, and resolves when it answers", {
    timeout: 120_000,
  }, async () => {
    target = await PostgresTarget.create();
    const role = await target.createRole(`dba_${target.suffix}`);
    for (const u of ["u1", "u2", "u3"]) await target.createRole(u, { login: true }).catch(() => {});
    const u = new URL(target.url);
    proxy = await new SwitchProxy(u.hostname, Number(u.port || 5432)).start("blackhole");
    const viaProxy = new URL(target.url);
    viaProxy.port = String(proxy.port);
    const { h, ask, status, alert } = await start(role, viaProxy.toString());

    const stuck = [await ask("u1", "db-admin"), await ask("u2", "db-admin"), await ask("u3", "db-admin")];
    await eventually(
      async () => proxy!.heldBytes >= 0 && (await attemptsOf(h, stuck)) >= 3,
      10_000,
      "calls to the hung target",
    );
    // While those calls hang, grants on the log connector go through.
    const quick = [await ask("u4", "app-admin"), await ask("u5", "app-admin"), await ask("u6", "app-admin")];
    await eventually(
      async () => (await Promise.all(quick.map(status))).every((s) => s === "active"),
      10_000,
      "healthy grants",
    );
    expect(await queryAudit(h.deps.db, { event: "connector.grant.failed" })).toHaveLength(0);

    // The hung calls are abandoned at their deadline and retried on the backoff schedule.
    await eventually(async () => (await attemptsOf(h, stuck)) >= 9, 60_000, "three attempts of each hung grant");
    const failed = await queryAudit(h.deps.db, { event: "connector.grant.failed" });
    expect(
      failed.every((f) => f.data.retryable === true && /did not answer within 5000 ms/.test(String(f.data.error))),
    ).toBe(true);
    expect((await Promise.all(stuck.map(status))).every((s) => s === "activating")).toBe(true);
    // Each attempt ended within its deadline of the time its backoff set (plus the sweep and slack).
    const byJob = new Map<string, typeof failed>();
    for (const f of failed) byJob.set(String(f.data.jobId), [...(byJob.get(String(f.data.jobId)) ?? []), f]);
    for (const list of byJob.values())
      for (let i = 1; i < list.length; i++) {
        const due = new Date(String(list[i - 1]!.data.nextAttemptAt)).getTime();
        expect(list[i]!.at.getTime() - due).toBeLessThan(5_000 + 5_000);
      }

    // Failing for longer than the threshold: the alert is open, naming the target and no secret.
    const opened = await eventually(alert, 30_000, "the target_failing alert");
    expect(opened).toMatchObject({
      status: "open",
      conditionKey: `target_failing:postgres PIM_TEST_TARGET_URL ${role}`,
    });

    // The target comes back: the grants go through and the alert resolves with them.
    proxy.forward();
    await eventually(
      async () => (await Promise.all(stuck.map(status))).every((s) => s === "active"),
      30_000,
      "grants once the target answers",
    );
    for (const login of ["u1", "u2", "u3"]) expect(await target.isMember(login, role)).toBe(true);
    await eventually(async () => (await alert())?.status === "resolved", 10_000, "the alert to resolve");
  });

  it("retries a grant while the target database is missing or the login is refused, with the alert", {
    timeout: 120_000,
  }, async () => {
    target = await PostgresTarget.create();
    const role = await target.createRole(`dba_${target.suffix}`);
    await target.createRole("u1", { login: true }).catch(() => {});
    const missing = `pim_missing_${randomBytes(4).toString("hex")}`;
    const { h, ask, status, alert } = await start(role, withDatabase(TEST_DATABASE_URL, missing));

    const id = await ask("u1", "db-admin");
    await eventually(async () => (await attemptsOf(h, [id])) >= 2, 30_000, "a second attempt");
    expect(await status(id)).toBe("activating");
    const failed = await queryAudit(h.deps.db, { event: "connector.grant.failed" });
    expect(failed[0]!.data).toMatchObject({ retryable: true, final: false });
    expect(String(failed[0]!.data.error)).toMatch(/3D000/);
    await eventually(async () => (await alert())?.status === "open", 30_000, "the target_failing alert");

    // The operator creates (or renames back) the database: the grant goes through, the alert resolves.
    const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    cleanups.push(async () => {
      await admin.unsafe(`drop database if exists ${missing} with (force)`);
      await admin.end();
    });
    await admin.unsafe(`create database ${missing}`);
    await eventually(async () => (await status(id)) === "active", 30_000, "the grant once the database exists");
    await eventually(async () => (await alert())?.status === "resolved", 10_000, "the alert to resolve");
  });

  it("retries a grant whose login is refused by the target", { timeout: 60_000 }, async () => {
    target = await PostgresTarget.create();
    const role = await target.createRole(`dba_${target.suffix}`);
    await target.createRole("u1", { login: true }).catch(() => {});
    const refused = new URL(target.url);
    refused.username = `nobody_${randomBytes(3).toString("hex")}`;
    const { h, ask, status } = await start(role, refused.toString());
    const id = await ask("u1", "db-admin");
    await eventually(async () => (await attemptsOf(h, [id])) >= 2, 30_000, "a second attempt");
    expect(await status(id)).toBe("activating");
    const [first] = await queryAudit(h.deps.db, { event: "connector.grant.failed" });
    expect(first!.data).toMatchObject({ retryable: true, final: false });
    expect(String(first!.data.error)).toMatch(/SQLSTATE 28/);
  });
});

async function attemptsOf(h: Harness, activationIds: string[]): Promise<number> {
  let n = 0;
  for (const id of activationIds) {
    const rows = await h.deps.db
      .select({ attempts: outboxJobs.attempts })
      .from(outboxJobs)
      .where(and(eq(outboxJobs.activationId, id), eq(outboxJobs.kind, "grant")));
    for (const r of rows) n += r.attempts;
  }
  return n;
}
