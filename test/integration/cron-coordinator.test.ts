import { eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openDatabase } from "../../src/db/client.js";
import { findUnfinishedRuns } from "../../src/db/repos/cron-runs.js";
import { cronRuns } from "../../src/db/schema/cron-runs.js";
import { CronCoordinator, missedSlots, slotsBetween } from "../../src/jobs/cron-coordinator.js";
import { createTestDatabase, describeOnPostgres, type TestDatabase } from "../support/databases.js";
import { silentLogger } from "../support/engine.js";
import { eventually } from "../support/harness.js";

describeOnPostgres("cluster-once recurring jobs", () => {
  let db: TestDatabase;
  const closers: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    db = await createTestDatabase("postgres");
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await db.dispose();
  });

  /** A replica: its own connection pool and its own coordinator. */
  async function replica(owner: string) {
    const handle = await openDatabase({ driver: "postgres", url: db.url!, poolSize: 2 });
    const coordinator = new CronCoordinator(handle.db, owner, silentLogger);
    closers.push(async () => {
      await coordinator.stop();
      await handle.close();
    });
    return coordinator;
  }

  it("runs each slot once across two replicas and records who ran it", async () => {
    const ran: { owner: string; slot: number }[] = [];
    const started = new Date();
    for (const owner of ["replica-a", "replica-b"]) {
      const coordinator = await replica(owner);
      coordinator.schedule("tick", "* * * * * *", async (slot) => {
        ran.push({ owner, slot: slot.getTime() });
      });
    }
    const rows = await eventually(
      async () => {
        const finished = (await db.db.select().from(cronRuns).where(eq(cronRuns.job, "tick"))).filter(
          (r) => r.finishedAt,
        );
        return finished.length >= 4 ? finished : undefined;
      },
      10_000,
      "four finished slots",
    );
    for (const close of closers.splice(0).reverse()) await close();

    const all = await db.db.select().from(cronRuns).where(eq(cronRuns.job, "tick"));
    const slots = ran.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length); // no slot ran twice
    expect(slots.sort()).toEqual(all.map((r) => r.slot.getTime()).sort());
    for (const row of rows) {
      expect(["replica-a", "replica-b"]).toContain(row.claimedBy);
      expect(row.status).toBe("succeeded");
      expect(ran).toContainEqual({ owner: row.claimedBy, slot: row.slot.getTime() });
    }

    // Slots before the replicas started had no run: they are listed as missed, the rest are not.
    const firstRun = Math.min(...slots);
    const from = new Date(firstRun - 3_000);
    const missed = await missedSlots(db.db, "tick", "* * * * * *", from, new Date(firstRun + 1));
    expect(missed.map((d) => d.getTime())).toEqual([firstRun - 3_000, firstRun - 2_000, firstRun - 1_000]);
    expect(firstRun).toBeGreaterThanOrEqual(Math.floor(started.getTime() / 1000) * 1000);
  });

  it("records a failed run with its error", async () => {
    const coordinator = await replica("replica-a");
    coordinator.schedule("broken", "* * * * * *", async () => {
      throw new Error("the target is on fire");
    });
    const [row] = await eventually(
      async () => {
        const r = await db.db.select().from(cronRuns).where(eq(cronRuns.job, "broken"));
        return r.some((x) => x.finishedAt) ? r.filter((x) => x.finishedAt) : undefined;
      },
      5_000,
      "a finished run",
    );
    expect(row).toMatchObject({ status: "failed", error: "the target is on fire", claimedBy: "replica-a" });
  });

  it("lists a run whose replica died before finishing", async () => {
    const coordinator = await replica("replica-a");
    const slot = new Date(Date.UTC(2026, 10, 2, 9, 0, 0));
    expect(await coordinator.shouldRun(`digest:${slot.toISOString()}`)).toBe(true);
    expect(await (await replica("replica-b")).shouldRun(`digest:${slot.toISOString()}`)).toBe(false);
    const stuck = await findUnfinishedRuns(db.db, "digest", new Date());
    expect(stuck.map((r) => [r.slot.getTime(), r.claimedBy])).toEqual([[slot.getTime(), "replica-a"]]);
  });

  it("enumerates the slots of minute and second expressions", () => {
    const from = new Date("2026-11-02T09:00:30Z");
    const to = new Date("2026-11-02T09:05:00Z");
    expect(slotsBetween("*/2 * * * *", from, to).map((d) => d.toISOString())).toEqual([
      "2026-11-02T09:02:00.000Z",
      "2026-11-02T09:04:00.000Z",
    ]);
    expect(slotsBetween("*/20 * * * * *", from, new Date("2026-11-02T09:01:10Z")).map((d) => d.toISOString())).toEqual([
      "2026-11-02T09:00:40.000Z",
      "2026-11-02T09:01:00.000Z",
    ]);
  });
});
