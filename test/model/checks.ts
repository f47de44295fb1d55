import { and, eq, sql } from "drizzle-orm";
import { verifyAuditChain } from "../../src/db/audit-log.js";
import { activations, approvals } from "../../src/db/schema/activations.js";
import { outboxJobs } from "../../src/db/schema/outbox.js";
import { ELIGIBLE, type Model, type ModelActivation } from "./model.js";
import { holdingKey, type World } from "./world.js";

/** Thrown when the system departs from the model or breaks an invariant; the message says how. */
export class Violation extends Error {}

function fail(what: string): never {
  throw new Violation(what);
}

type Row = typeof activations.$inferSelect;

/**
 * Compares every activation with the model. A worker-driven step the model allows (a grant
 * confirmed, a grant given up on a misbehaving target, a revoke done, the activation an
 * extension replaces ending) is learned from the database; any other difference is a violation.
 */
export async function syncWithModel(world: World, m: Model, workersRan: boolean): Promise<Row[]> {
  const rows = await world.handle.db.select().from(activations);
  const byId = new Map(rows.map((r) => [r.id, r]));
  if (rows.length !== m.acts.length) fail(`${rows.length} activations in the database, ${m.acts.length} in the model`);
  const became = (a: ModelActivation, phase: ModelActivation["phase"]) => {
    if (!workersRan) fail(`${describe(a)} became ${phase} in a step where no worker ran`);
    a.phase = phase;
  };
  for (const a of m.acts) {
    const row = byId.get(a.id) ?? fail(`${describe(a)} is missing from the database`);
    if (row.status === a.phase) continue;
    if (a.phase === "activating" && row.status === "active") {
      became(a, "active");
      if (row.activatedAt?.getTime() !== m.now) fail(`${describe(a)} activated at ${row.activatedAt?.toISOString()}`);
      a.endsAt = row.endsAt!.getTime();
      if (a.endsAt - m.now !== a.durationMs) fail(`${describe(a)} got ${a.endsAt - m.now} ms, asked ${a.durationMs}`);
    } else if (a.phase === "activating" && row.status === "failed") {
      if (!a.troubled) fail(`${describe(a)} failed although the target never misbehaved during its grant`);
      became(a, "failed");
    } else if (a.phase === "ending" && row.status === "ended") {
      became(a, "ended");
    } else if (!(a.phase === "active" && ["ending", "ended"].includes(row.status))) {
      fail(`${describe(a)} is ${row.status} in the database (reason ${row.reason})`);
    }
  }
  // The activation an extension replaces ends, superseded, once the extension is active.
  for (const a of m.acts) {
    const row = byId.get(a.id)!;
    if (a.phase !== "active" || row.status === "active") continue;
    const successor = m.acts.find((s) => s.extendsId === a.id && s.phase === "active");
    if (!successor || row.reason !== "superseded") fail(`${describe(a)} ended (${row.reason}) without a cause`);
    became(a, row.status as "ending" | "ended");
    a.reason = "superseded";
  }
  for (const a of m.acts) {
    const row = byId.get(a.id)!;
    if ((a.phase === "ending" || a.phase === "ended") && row.reason !== a.reason)
      fail(`${describe(a)} ended for ${row.reason}, the model says ${a.reason}`);
  }
  return rows;
}

/** The invariants that hold after every step, whatever the timing. */
export async function checkInvariants(world: World, m: Model, rows: Row[]): Promise<void> {
  const db = world.handle.db;
  const keyOf = (r: Pick<Row, "principalId" | "roleId" | "scope">) =>
    holdingKey(world.userKeyOf.get(r.principalId)!, world.roleKeyOf.get(r.roleId)!, r.scope);

  // No grant without every requirement met: eligibility, MFA, the quorum of approvals.
  const votes = await db
    .select({ activationId: approvals.activationId, n: sql<number>`count(*)::int` })
    .from(approvals)
    .where(eq(approvals.decision, "approve"))
    .groupBy(approvals.activationId);
  const approvalsOf = new Map(votes.map((v) => [v.activationId, v.n]));
  const granted = new Set(world.target.calls.filter((c) => c.kind === "grant").map((c) => c.activationId));
  for (const r of rows) {
    const reachedGrant = ["activating", "active"].includes(r.status) || r.activatedAt !== null || granted.has(r.id);
    if (!reachedGrant) continue;
    const who = `${world.userKeyOf.get(r.principalId)} ${world.roleKeyOf.get(r.roleId)} (${r.id})`;
    if ((approvalsOf.get(r.id) ?? 0) < r.approvalsNeeded) fail(`${who} granted with too few approvals`);
    if (r.mfaRequired && !r.mfaSatisfiedAt) fail(`${who} granted without MFA`);
    if (!ELIGIBLE[world.userKeyOf.get(r.principalId)!].includes(world.roleKeyOf.get(r.roleId)!))
      fail(`${who} granted without eligibility`);
  }

  // No role held twice: one holding activation per principal, role and scope, but for the hand-over to an extension.
  const holding = new Map<string, Row[]>();
  for (const r of rows.filter((r) => r.status === "activating" || r.status === "active"))
    holding.set(keyOf(r), [...(holding.get(keyOf(r)) ?? []), r]);
  for (const [key, rs] of holding) {
    const handOver = rs.length === 2 && (rs[0]!.extendsId === rs[1]!.id || rs[1]!.extendsId === rs[0]!.id);
    if (rs.length > 1 && !handOver) fail(`${key} is held by ${rs.length} activations: ${rs.map((r) => r.id)}`);
  }

  // Each activation's grant and revoke run as one job each; retries of a job reuse its key.
  const jobs = await db.select().from(outboxJobs);
  const perActivation = new Map<string, typeof jobs>();
  for (const j of jobs)
    if (j.activationId) perActivation.set(j.activationId, [...(perActivation.get(j.activationId) ?? []), j]);
  for (const [id, js] of perActivation) {
    for (const kind of ["grant", "revoke"] as const)
      if (js.filter((j) => j.kind === kind).length > 1) fail(`${id} has ${kind} jobs ${js.map((j) => j.id)}`);
    const calls = (kind: string) =>
      new Set(world.target.calls.filter((c) => c.activationId === id && c.kind === kind).map((c) => c.idempotencyKey));
    if (calls("grant").size > 1 || calls("revoke").size > 1) fail(`${id} reached the target from two jobs of one kind`);
  }
  for (const r of rows) {
    if (r.status !== "ended" || r.reason === "superseded") continue;
    const revokes = (perActivation.get(r.id) ?? []).filter((j) => j.kind === "revoke" && j.status === "done");
    if (revokes.length !== 1) fail(`${r.id} ended (${r.reason}) with ${revokes.length} revokes done`);
  }

  // Nothing held on the target without a reason in the database.
  const reasons = new Set([
    ...rows.filter((r) => ["activating", "active", "ending"].includes(r.status)).map(keyOf),
    ...jobs.filter((j) => j.status === "pending").map((j) => keyOfPayload(world, j.payload)),
  ]);
  for (const key of world.target.held) if (!reasons.has(key)) fail(`the target holds ${key} with no reason left`);

  // Once nothing is left to run, the target holds exactly what the model says is active.
  if (!jobs.some((j) => j.status === "pending")) {
    const expected = new Set(m.acts.filter((a) => a.phase === "active").map((a) => holdingKey(a.user, a.role, "/")));
    const held = [...world.target.held].sort();
    if (held.join() !== [...expected].sort().join())
      fail(`the target holds [${held}], the model expects [${[...expected].sort()}]`);
  }

  const chain = await verifyAuditChain(world.handle);
  if (!chain.ok) fail(`the audit chain is broken: ${JSON.stringify(chain.brokenAt)}`);
}

export async function pendingJobs(world: World): Promise<number> {
  const [row] = await world.handle.db
    .select({ n: sql<number>`count(*)::int` })
    .from(outboxJobs)
    .where(and(eq(outboxJobs.status, "pending")));
  return row!.n;
}

function keyOfPayload(world: World, payload: Record<string, unknown>): string {
  return holdingKey(
    world.userKeyOf.get(String(payload.principalId))!,
    world.roleKeyOf.get(String(payload.roleId))!,
    String(payload.scope),
  );
}

function describe(a: ModelActivation): string {
  return `${a.user}'s ${a.role} (${a.id}, model: ${a.phase})`;
}
