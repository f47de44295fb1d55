import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { cancelRequest } from "../../src/app/activation/end.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { principals } from "../../src/db/schema/principals.js";
import { roles } from "../../src/db/schema/roles.js";
import { DAY, HOUR, MINUTE } from "../../src/domain/duration.js";
import { ManualClock } from "../support/clock.js";
import { describeEachDatabase } from "../support/databases.js";
import { type ComposedEngine, composeEngine, idByKey, loadFixture } from "../support/engine.js";

describeEachDatabase("a scheduled start and a narrower scope", (driver) => {
  let e: ComposedEngine;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock();
    const config = loadFixture("engine.yaml");
    // The reader role's connector grants at any scope here, so it may be activated below "/".
    const reader = config.roles.find((r) => r.key === "reader")!;
    reader.policy = { ...reader.policy, activation: { ...reader.policy.activation, allowChildScope: true } };
    e = await composeEngine(driver, config, { clock });
  });
  afterEach(() => e.dispose());

  const id = (table: typeof principals | typeof roles, key: string) => idByKey(e.handle.db, table, key);
  const held = (login: string) => e.handle.db.select().from(logHoldings).where(eq(logHoldings.login, login));
  const grantJobs = (activationId: string) =>
    e.handle.db
      .select()
      .from(outboxJobs)
      .where(and(eq(outboxJobs.activationId, activationId), eq(outboxJobs.kind, "grant")));

  it("waits for its start once approved, then runs for the time asked from the grant", async () => {
    const alice = await id(principals, "alice");
    const dbAdmin = await id(roles, "db-admin");
    const startsAt = new Date(clock.now().getTime() + 3 * HOUR);
    const requested = await requestActivation(e.bot.deps, {
      requesterId: alice,
      roles: [{ roleId: dbAdmin }],
      durationMs: 2 * HOUR,
      justification: "Night maintenance window",
      ticket: "INC-123456",
      origin: "api",
      startsAt,
    });
    if (!requested.ok) throw new Error(requested.error.message);
    const [a] = requested.value.activations;
    expect(a!.startsAt).toEqual(startsAt);
    const approved = await decide(e.bot.deps, {
      requestId: requested.value.requestId,
      approverId: await id(principals, "bob"),
      decision: "approve",
    });
    expect(approved.ok).toBe(true);

    await e.bot.worker.drain();
    expect((await getActivation(e.bot.deps.db, a!.id))!.status).toBe("activating");
    expect(await held("alice")).toHaveLength(0);
    const [job] = await grantJobs(a!.id);
    expect(job!.runAt).toEqual(startsAt);

    clock.set(new Date(startsAt.getTime() + MINUTE));
    await e.bot.worker.drain();
    const active = await getActivation(e.bot.deps.db, a!.id);
    expect(active!.status).toBe("active");
    expect(await held("alice")).toHaveLength(1);
    if (active?.status !== "active") throw new Error("not active");
    expect(active.endsAt.getTime() - active.activatedAt.getTime()).toBe(2 * HOUR);
    const [requestedEvent] = await queryAudit(e.bot.deps.db, {
      event: "activation.requested",
      requestId: a!.requestId,
    });
    expect(requestedEvent!.data).toMatchObject({ startsAt: startsAt.toISOString() });
  });

  it("can be canceled until it starts, and nothing reaches the target", async () => {
    const alice = await id(principals, "alice");
    const reader = await id(roles, "reader");
    const requested = await requestActivation(e.bot.deps, {
      requesterId: alice,
      roles: [{ roleId: reader }],
      durationMs: HOUR,
      justification: "Quarterly report",
      origin: "api",
      startsAt: new Date(clock.now().getTime() + HOUR),
    });
    if (!requested.ok) throw new Error(requested.error.message);
    const [a] = requested.value.activations;
    expect(a!.status).toBe("activating");

    const canceled = await cancelRequest(e.bot.deps, a!.requestId, alice);
    expect(canceled.ok && canceled.value.map((x) => x.status)).toEqual(["canceled"]);
    const [job] = await grantJobs(a!.id);
    expect(job!.status).toBe("canceled");

    clock.advance(2 * HOUR);
    await e.bot.worker.drain();
    expect(await held("alice")).toHaveLength(0);
    expect((await getActivation(e.bot.deps.db, a!.id))!.status).toBe("canceled");
  });

  it("refuses a start in the past, too far ahead, or past the end of the eligibility", async () => {
    const alice = await id(principals, "alice");
    const ask = (roleKey: string, startsAt: Date) =>
      id(roles, roleKey).then((roleId) =>
        requestActivation(e.bot.deps, {
          requesterId: alice,
          roles: [{ roleId }],
          durationMs: HOUR,
          justification: "why",
          origin: "api",
          startsAt,
        }),
      );
    const now = clock.now().getTime();
    const past = await ask("reader", new Date(now - 10 * MINUTE));
    expect(!past.ok && past.error.code).toBe("START_IN_PAST");
    const far = await ask("reader", new Date(now + 31 * DAY));
    expect(!far.ok && far.error.code).toBe("START_TOO_FAR");
    // alice's billing eligibility ends on 2026-11-03T00:00Z: a start at 23:30 leaves 30 minutes.
    const late = await ask("billing", new Date("2026-11-02T23:30:00Z"));
    expect(!late.ok && late.error.code).toBe("DURATION_PAST_ELIGIBILITY");
    const refused = await queryAudit(e.bot.deps.db, { event: "activation.refused" });
    expect(refused.map((r) => (r.data as { code: string }).code)).toEqual(
      expect.arrayContaining(["START_IN_PAST", "START_TOO_FAR", "DURATION_PAST_ELIGIBILITY"]),
    );
  });

  it("activates below the eligibility's scope only where the role allows it", async () => {
    const alice = await id(principals, "alice");
    const frank = await id(principals, "frank");
    const narrow = await requestActivation(e.bot.deps, {
      requesterId: alice,
      roles: [{ roleId: await id(roles, "reader"), scope: "/mg/prod/db" }],
      durationMs: HOUR,
      justification: "Only the databases",
      origin: "api",
    });
    if (!narrow.ok) throw new Error(narrow.error.message);
    expect(narrow.value.activations[0]!.scope).toBe("/mg/prod/db");
    await e.bot.worker.drain();
    expect((await held("alice")).map((h) => h.scope)).toEqual(["/mg/prod/db"]);

    // db-admin does not allow it: frank is eligible at /mg/prod through dbas.
    const refused = await requestActivation(e.bot.deps, {
      requesterId: frank,
      roles: [{ roleId: await id(roles, "db-admin"), scope: "/mg/prod/db" }],
      durationMs: HOUR,
      justification: "Only the databases",
      ticket: "INC-123456",
      origin: "api",
    });
    expect(!refused.ok && refused.error.code).toBe("SCOPE_NOT_ALLOWED");
    const junk = await requestActivation(e.bot.deps, {
      requesterId: alice,
      roles: [{ roleId: await id(roles, "reader"), scope: "/mg/../etc" }],
      durationMs: HOUR,
      justification: "x",
      origin: "api",
    });
    expect(!junk.ok && junk.error.message).toMatch(/is not a scope/);
  });
});
