import { sql } from "drizzle-orm";
import { expireDueActivations } from "../../src/app/activation/expire.js";
import { timeOutDueRequests } from "../../src/app/activation/time-out.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { type EngineEvent, noEvents } from "../../src/app/kernel/events.js";
import { type EngineDeps, inTransaction } from "../../src/app/kernel/unit-of-work.js";
import {
  type Connector,
  type ConnectorResult,
  type GrantRequest,
  type Holding,
  type RevokeRequest,
  retryable,
} from "../../src/connectors/connector.js";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import { type Database, type DbHandle, openDatabase } from "../../src/db/client.js";
import type { JobRow } from "../../src/db/repos/outbox.js";
import { claimJobs } from "../../src/db/repos/outbox-claims.js";
import { principals } from "../../src/db/schema/principals.js";
import { roles } from "../../src/db/schema/roles.js";
import { newUnitSettings } from "../../src/db/unit-of-work.js";
import { planJobs } from "../../src/jobs/outbox-plan.js";
import { OutboxWorker, type OutboxWorkerOptions } from "../../src/jobs/outbox-worker.js";
import { ManualClock } from "../support/clock.js";
import { createTestDatabase, type DriverName, type TestDatabase } from "../support/databases.js";
import { silentLogger } from "../support/engine.js";
import { parseConfig } from "../support/harness.js";

/**
 * The system under test for the model-based test: one database, a target system every engine
 * grants on, and two or three engine instances, each with its own outbox worker, built from the
 * same parts as the bot's replicas (use cases, the outbox worker, the sweep's expiry and time-outs).
 */

/** Who may do what: every requirement the protocol enforces appears on at least one role. */
export const MODEL_POLICY = `
version: 1
users:
  - { key: ann, name: Ann, email: ann@example.com }
  - { key: ben, name: Ben, email: ben@example.com }
  - { key: cat, name: Cat, email: cat@example.com }
  - { key: dan, name: Dan, email: dan@example.com }
  - { key: eve, name: Eve, email: eve@example.com }
  - { key: root, name: Root, email: root@example.com, admin: true }
  - { key: zed, name: Zed, email: zed@example.com }
groups:
  - { key: approvers, name: Approvers, members: [cat, dan, eve] }
defaults:
  activation:
    maxDuration: 8h
    requireMfa: false
    requireJustification: false
    approvers: [approvers]
roles:
  - key: ops
    name: Operator
    policy: { activation: { maxDuration: 4h } }
  - key: dba
    name: Database Administrator
    policy: { activation: { requireApproval: true, approvalsNeeded: 2, approvalTimeout: 2h } }
  - key: sec
    name: Security Administrator
    policy:
      activation: { requireMfa: true, mfaMethods: [totp], requireApproval: true, approvalsNeeded: 1, approvalTimeout: 1h }
  - key: aud
    name: Auditor
    policy: { activation: { requireMfa: true, mfaMethods: [totp, passkey], approvalTimeout: 3h } }
assignments:
  - { principal: ann, role: ops, kind: eligible }
  - { principal: ann, role: dba, kind: eligible }
  - { principal: ann, role: sec, kind: eligible }
  - { principal: ann, role: aud, kind: eligible }
  - { principal: ben, role: ops, kind: eligible }
  - { principal: ben, role: dba, kind: eligible }
  - { principal: ben, role: sec, kind: eligible }
  - { principal: cat, role: dba, kind: eligible }
`;

export const USERS = ["ann", "ben", "cat", "dan", "eve", "root", "zed"] as const;
export const ROLES = ["ops", "dba", "sec", "aud"] as const;
export type UserKey = (typeof USERS)[number];
export type RoleKey = (typeof ROLES)[number];

export const WORKER_OPTIONS: Partial<OutboxWorkerOptions> = {
  leaseMs: 30_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 8_000,
  maxGrantAttempts: 4,
  revokeAlertAfter: 3,
  completionLingerMs: 1,
  random: () => 0.5,
};

export type TargetMode = "up" | "down" | "flaky";

export interface TargetCall {
  kind: "grant" | "revoke";
  key: string;
  activationId: string | null;
  idempotencyKey: string;
  /** The call changed what the target holds. */
  changed: boolean;
  /** The answer the caller got. */
  ok: boolean;
}

/**
 * The target system: a set of holdings, idempotent like every real target. Down, it refuses every
 * call; flaky, it makes the change and then answers with a time-out, as a target behind a slow
 * network does.
 */
export class ModelTarget implements Connector {
  readonly type = "log";
  mode: TargetMode = "up";
  readonly held = new Set<string>();
  readonly calls: TargetCall[] = [];

  grant(req: GrantRequest): Promise<ConnectorResult> {
    return Promise.resolve(this.call("grant", req));
  }

  revoke(req: RevokeRequest): Promise<ConnectorResult> {
    return Promise.resolve(this.call("revoke", req));
  }

  async list(): Promise<Holding[]> {
    return [...this.held].map((key) => {
      const [login, roleKey, scope] = key.split("|") as [string, string, string];
      return { login, principalKey: login, roleKey, scope };
    });
  }

  private call(kind: "grant" | "revoke", req: GrantRequest | RevokeRequest): ConnectorResult {
    const key = holdingKey(req.login, req.roleKey, req.scope);
    const record = (changed: boolean, ok: boolean) =>
      this.calls.push({ kind, key, activationId: req.activationId, idempotencyKey: req.idempotencyKey, changed, ok });
    if (this.mode === "down") {
      record(false, false);
      return retryable("connection refused");
    }
    const changed = kind === "grant" ? !this.held.has(key) : this.held.has(key);
    if (kind === "grant") this.held.add(key);
    else this.held.delete(key);
    const ok = this.mode === "up";
    record(changed, ok);
    return ok ? { ok: true } : retryable("timed out waiting for the answer");
  }
}

export const holdingKey = (login: string, role: string, scope: string) => `${login}|${role}|${scope}`;

/** One replica: its own database connections, connector registry, outbox worker and claimed-job queue. */
export class EngineInstance {
  readonly deps: EngineDeps;
  readonly connectors: ConnectorRegistry;
  worker!: OutboxWorker;
  alive = true;
  private generation = 0;
  /** Jobs written already claimed by this replica's worker, run by its next drain (as the scheduler does). */
  private claimed: JobRow[] = [];
  private readonly units = newUnitSettings();

  constructor(
    readonly index: number,
    db: Database,
    clock: ManualClock,
    target: ModelTarget,
  ) {
    this.deps = { db, clock, events: { publish: (event) => this.onEvent(event) }, units: this.units };
    this.connectors = new ConnectorRegistry(db).register("log", () => target);
    this.start();
  }

  get name(): string {
    return `engine-${this.index}`;
  }

  /** A fresh process: a new worker id, nothing in memory. */
  start(): void {
    this.generation++;
    this.worker = new OutboxWorker(this.deps, this.connectors, silentLogger, {
      ...WORKER_OPTIONS,
      workerId: `${this.name}.${this.generation}`,
    });
    this.units.claims.open(this.worker.claimant);
    this.claimed = [];
    this.alive = true;
  }

  /** The worker's rounds: what was written claimed for it, then everything due. */
  async drain(): Promise<void> {
    await this.worker.runClaimed(this.claimed.splice(0));
    await this.worker.drain();
  }

  /** The durable sweep: overdue ends (their revokes claimed by this replica), time-outs, then the worker. */
  async sweep(): Promise<void> {
    for (;;) {
      // The revokes written claimed by this replica reach it as events (onEvent).
      if ((await expireDueActivations(this.deps, 500)) < 500) break;
    }
    await timeOutDueRequests(this.deps);
    await this.drain();
  }

  /**
   * The process dies. Jobs it holds stay claimed until their lease runs out. With `midCall`, it
   * first claims what is due and calls the target for each job, and dies before recording any
   * outcome: the target changed, the database does not know.
   */
  async crash(midCall: boolean): Promise<void> {
    const held = this.claimed.splice(0);
    if (midCall) {
      const now = this.deps.clock.now();
      held.push(
        ...(await claimJobs(this.deps.db, { workerId: this.worker.workerId, now, leaseMs: 30_000, limit: 100 })),
      );
      const plans = await inTransaction(this.deps, (work) => planJobs(work.tx, this.connectors, held, now));
      for (const plan of plans) {
        if (!plan.connector || !plan.request) continue;
        if (plan.job.kind === "grant") await plan.connector.grant(plan.request);
        else await plan.connector.revoke(plan.request);
      }
    }
    this.alive = false;
  }

  private onEvent(event: EngineEvent): void {
    if (event.type === "holding.job")
      this.claimed.push(...(event.claimed ?? []).filter((job) => job.lockedBy === this.worker.workerId));
  }
}

/** What a run of the protocol writes; everything else is the directory, written once. */
const ACTIVITY_TABLES = [
  "activations",
  "approvals",
  "outbox_jobs",
  "audit_events",
  "audit_lanes",
  "alerts",
  "notices_sent",
];

export interface World {
  driver: DriverName;
  /** Forgets every request, job, audit event and holding, and restarts every replica, keeping the directory. */
  reset(): Promise<void>;
  handle: TestDatabase;
  clock: ManualClock;
  target: ModelTarget;
  engines: EngineInstance[];
  userId: Record<UserKey, string>;
  roleId: Record<RoleKey, string>;
  roleKeyOf: Map<string, RoleKey>;
  userKeyOf: Map<string, UserKey>;
  dispose(): Promise<void>;
}

/** A migrated database with the model policy, and `count` replicas on it. */
export async function openWorld(driver: DriverName, count = 3): Promise<World> {
  const handle = await createTestDatabase(driver);
  const clock = new ManualClock();
  await applyConfig({ db: handle.db, clock, events: noEvents }, parseConfig(MODEL_POLICY));
  const target = new ModelTarget();
  // On the server each replica has its own connections; PGlite has one connection for everyone.
  const extra: DbHandle[] = [];
  for (let i = 1; i < count && handle.url; i++)
    extra.push(await openDatabase({ driver: "postgres", url: handle.url, poolSize: 3 }));
  const dbs = [handle.db, ...extra.map((h) => h.db)];
  const engines = Array.from({ length: count }, (_, i) => new EngineInstance(i, dbs[i % dbs.length]!, clock, target));
  const userRows = await handle.db.select({ id: principals.id, key: principals.key }).from(principals);
  const roleRows = await handle.db.select({ id: roles.id, key: roles.key }).from(roles);
  const userId = Object.fromEntries(userRows.map((r) => [r.key, r.id])) as Record<UserKey, string>;
  const roleId = Object.fromEntries(roleRows.map((r) => [r.key, r.id])) as Record<RoleKey, string>;
  const start = clock.now();
  return {
    driver,
    reset: async () => {
      await handle.db.transaction(async (tx) => {
        // As a restore would: the audit log's guard triggers stand aside for this session only.
        await tx.execute(sql`set local session_replication_role = replica`);
        await tx.execute(sql.raw(`truncate ${ACTIVITY_TABLES.join(", ")}`));
      });
      clock.set(start);
      target.mode = "up";
      target.held.clear();
      target.calls.length = 0;
      for (const engine of engines) engine.start();
    },
    handle,
    clock,
    target,
    engines,
    userId,
    roleId,
    roleKeyOf: new Map(roleRows.map((r) => [r.id, r.key as RoleKey])),
    userKeyOf: new Map(userRows.map((r) => [r.id, r.key as UserKey])),
    dispose: async () => {
      for (const h of extra) await h.close();
      await handle.dispose();
    },
  };
}
