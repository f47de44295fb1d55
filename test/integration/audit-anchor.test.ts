/**
 * Tamper evidence that survives the database's owner: the chain and its heads catch what the
 * role the bot runs as could do; signed checkpoints kept outside the database catch what only the
 * owner can do — a rewrite of a lane's tail that is itself a sound chain.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { noEvents } from "../../src/app/kernel/events.js";
import {
  type Checkpoint,
  checkpointSignatureValid,
  compareWithCheckpoint,
  latestCheckpoint,
  signCheckpoint,
  takeCheckpoint,
} from "../../src/audit/checkpoint.js";
import { type AuditEntry, appendAudit, hashEvent, normalizeEntry } from "../../src/db/audit-append.js";
import { type AuditRow, queryAudit, verifyAuditChain } from "../../src/db/audit-log.js";
import { type DbHandle, openDatabase } from "../../src/db/client.js";
import { runMigrations } from "../../src/db/migrate.js";
import { HOUR } from "../../src/domain/duration.js";
import { ManualClock } from "../support/clock.js";
import {
  createTestDatabase,
  describeEachDatabase,
  describeOnPostgres,
  TEST_DATABASE_URL,
  type TestDatabase,
  withDatabase,
} from "../support/databases.js";
import { loadFixture } from "../support/engine.js";

const KEY = "checkpoint-key-0123456789abcdef0123456789";
const T0 = new Date("2026-03-01T09:00:00.000Z");
const event = (actor: string): AuditEntry => ({ at: T0, event: "activation.requested", actor });

/** Six events in one transaction: one lane, in order. */
async function appendLane(handle: Pick<DbHandle, "db">, prefix: string): Promise<AuditRow[]> {
  await handle.db.transaction((tx) =>
    appendAudit(
      tx,
      Array.from({ length: 6 }, (_, i) => event(`${prefix}-${i}`)),
    ),
  );
  return (await queryAudit(handle.db)).filter((r) => r.actor.startsWith(`${prefix}-`));
}

/** What the owner can do: switch every guard off, change the tables, switch them on again. */
async function asOwner(handle: Pick<DbHandle, "db">, ...statements: ReturnType<typeof sql>[]): Promise<void> {
  await handle.db.transaction(async (tx) => {
    await tx.execute(sql`alter table audit_events disable trigger user`);
    await tx.execute(sql`alter table audit_lanes disable trigger user`);
    for (const statement of statements) await tx.execute(statement);
    await tx.execute(sql`alter table audit_events enable trigger user`);
    await tx.execute(sql`alter table audit_lanes enable trigger user`);
  });
}

/** The owner cuts the lane after `keep` and moves its head to what is left: a sound, shorter chain. */
const cutTail = (lane: AuditRow[], keep: number) => [
  sql`delete from audit_events where lane = ${lane[0]!.lane} and id > ${lane[keep - 1]!.id}`,
  sql`update audit_lanes set hash = ${lane[keep - 1]!.hash} where lane = ${lane[0]!.lane}`,
];

/**
 * The owner rewrites the lane's tail after `keep` into other events, each hashed and linked as the
 * bot would (same ids, same times), and moves the head to the last: the chain alone cannot tell.
 */
function rewriteTail(lane: AuditRow[], keep: number) {
  let prev = lane[keep - 1]!.hash;
  const inserts = lane.slice(keep).map((row) => {
    const content = normalizeEntry({ at: row.at, event: row.event, actor: `${row.actor}-forged` }, row.lane);
    const hash = hashEvent(prev, content);
    const statement = sql`insert into audit_events (id, lane, at, event, actor, data, prev_hash, hash)
      values (${row.id}, ${row.lane}, ${row.at.toISOString()}::timestamptz, ${content.event}, ${content.actor}, '{}'::jsonb, ${prev}, ${hash})`;
    prev = hash;
    return statement;
  });
  return [
    sql`delete from audit_events where lane = ${lane[0]!.lane} and id > ${lane[keep - 1]!.id}`,
    ...inserts,
    sql`update audit_lanes set hash = ${prev} where lane = ${lane[0]!.lane}`,
  ];
}

describeEachDatabase("signed checkpoints of the audit log", (driver) => {
  let handle: TestDatabase;
  beforeEach(async () => {
    handle = await createTestDatabase(driver);
  });
  afterEach(async () => {
    await handle.dispose();
  });

  it("catch the owner cutting a lane's tail and moving its head, which the chain alone accepts", async () => {
    const lane = await appendLane(handle, "a");
    await appendLane(handle, "b");
    const checkpoint = await takeCheckpoint(handle.db, KEY, T0);
    expect(checkpoint.lanes).toContainEqual({ lane: lane[0]!.lane, id: lane[5]!.id, hash: lane[5]!.hash });
    expect(await compareWithCheckpoint(handle.db, checkpoint)).toEqual({ ok: true, lanes: checkpoint.lanes.length });

    // The last two events deleted, the head left: the head check finds it.
    await asOwner(handle, sql`delete from audit_events where id in (${lane[4]!.id}, ${lane[5]!.id})`);
    expect(await verifyAuditChain(handle)).toMatchObject({
      ok: false,
      brokenAt: { reason: "missing_tail", expected: lane[5]!.hash, found: lane[3]!.hash },
    });
    // The head set back to what is left: the chain is sound again, the checkpoint is not fooled.
    await asOwner(handle, sql`update audit_lanes set hash = ${lane[3]!.hash} where lane = ${lane[0]!.lane}`);
    expect(await verifyAuditChain(handle)).toMatchObject({ ok: true });
    expect(await compareWithCheckpoint(handle.db, checkpoint)).toEqual({
      ok: false,
      lane: lane[0]!.lane,
      id: lane[5]!.id,
      reason: "event_missing",
      expected: lane[5]!.hash,
      found: null,
    });
  });

  it("catch a consistent rewrite of a whole lane tail, ids and times kept", async () => {
    const lane = await appendLane(handle, "a");
    const checkpoint = await takeCheckpoint(handle.db, KEY, T0);
    await asOwner(handle, ...rewriteTail(lane, 2));
    expect(await verifyAuditChain(handle)).toMatchObject({ ok: true, checked: 6 });
    expect(await compareWithCheckpoint(handle.db, checkpoint)).toMatchObject({
      ok: false,
      id: lane[5]!.id,
      reason: "event_changed",
      expected: lane[5]!.hash,
    });
  });

  it("cannot be forged or altered without the key", async () => {
    const lane = await appendLane(handle, "a");
    const checkpoint = await takeCheckpoint(handle.db, KEY, T0);
    expect(checkpointSignatureValid(KEY, checkpoint)).toBe(true);
    const older = { ...checkpoint, lanes: [{ lane: lane[0]!.lane, id: lane[3]!.id, hash: lane[3]!.hash }] };
    expect(checkpointSignatureValid(KEY, older)).toBe(false);
    expect(checkpointSignatureValid(KEY, signCheckpoint("another-key-0123456789abcdef0123456789", older))).toBe(false);
    // A stream file: the last checkpoint counts.
    const stream = [
      JSON.stringify({ type: "event", id: 1 }),
      JSON.stringify(older),
      JSON.stringify(checkpoint),
      JSON.stringify({ type: "event", id: 2 }),
    ].join("\n");
    expect(latestCheckpoint(stream)).toEqual(checkpoint);
    expect(latestCheckpoint("")).toBe("the file is empty");
    expect(latestCheckpoint('{"type":"event"}\n')).toBe("the file holds no checkpoint");
  });
});

describeOnPostgres("the audit log with a separate owner and a runtime role of minimal grants", () => {
  const suffix = randomBytes(4).toString("hex");
  const ownerRole = `pim_owner_${suffix}`;
  const runtimeRole = `pim_runtime_${suffix}`;
  const database = `pim_roles_${suffix}`;
  let admin: postgres.Sql;
  let runtime: DbHandle;
  let owner: DbHandle;
  let dir: string;
  const urlAs = (role: string) => {
    const u = new URL(withDatabase(TEST_DATABASE_URL, database));
    u.username = role;
    u.password = "";
    return u.toString();
  };

  beforeAll(async () => {
    admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create role ${ownerRole} login`);
    await admin.unsafe(`create role ${runtimeRole} login`);
    await admin.unsafe(`create database ${database} owner ${ownerRole}`);
    // The bot starts as the runtime role and migrates through MIGRATION_DATABASE_URL, as the owner.
    runtime = await openDatabase({ driver: "postgres", url: urlAs(runtimeRole), poolSize: 4 });
    await runMigrations(runtime, urlAs(ownerRole));
    owner = await openDatabase({ driver: "postgres", url: urlAs(ownerRole), poolSize: 2 });
    await owner.sql!.unsafe(readmeGrants(ownerRole, runtimeRole));
    dir = await mkdtemp(join(tmpdir(), "pim-anchor-"));
  }, 120_000);
  afterAll(async () => {
    await runtime?.close();
    await owner?.close();
    await admin.unsafe(`drop database if exists ${database} with (force)`);
    await admin.unsafe(`drop role if exists ${runtimeRole}`);
    await admin.unsafe(`drop role if exists ${ownerRole}`);
    await admin.end();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The database's own message, whatever wraps it. */
  const refusal = async (statement: string) => {
    const error = await runtime.sql!.unsafe(statement).then(
      () => null,
      (e: Error) => e,
    );
    return error?.message ?? "accepted";
  };

  it("runs the bot as the runtime role; the role can neither change the log nor switch its guards off", async () => {
    const owned = await owner.sql!`select tablename, tableowner from pg_tables where tablename like 'audit%'`;
    expect(new Set(owned.map((t) => t.tableowner))).toEqual(new Set([ownerRole]));

    // The engine works as the runtime role: a policy applied, a request, a bulk append.
    const deps = { db: runtime.db, clock: new ManualClock(), events: noEvents };
    await applyConfig(deps, loadFixture("engine.yaml"));
    const [alice] = await runtime.sql!`select id from principals where key = 'alice'`;
    const [reader] = await runtime.sql!`select id from roles where key = 'reader'`;
    const asked = await requestActivation(deps, {
      requesterId: alice!.id,
      roles: [{ roleId: reader!.id }],
      durationMs: HOUR,
      justification: "work",
      origin: "api",
    });
    expect(asked.ok).toBe(true);
    await runtime.db.transaction((tx) =>
      appendAudit(
        tx,
        Array.from({ length: 150 }, (_, i) => event(`bulk-${i}`)),
      ),
    );
    expect(await verifyAuditChain(runtime)).toMatchObject({ ok: true });

    for (const [statement, says] of [
      ["update audit_events set actor = 'mallory'", "permission denied"],
      ["delete from audit_events", "permission denied"],
      ["truncate audit_events", "permission denied"],
      ["alter table audit_events disable trigger user", "must be owner"],
      ["drop trigger audit_events_no_update on audit_events", "must be owner"],
      ["update audit_lanes set hash = hash", "permission denied"],
      ["delete from audit_lanes", "permission denied"],
      ["alter table audit_lanes disable trigger user", "must be owner"],
      ["set session_replication_role = replica", "permission denied"],
      [
        "create or replace function audit_append_chained(lane_rows json) returns void as 'select 1' language sql",
        "permission denied",
      ],
    ] as const)
      expect(await refusal(statement), statement).toContain(says);
  });

  it("finds an event the runtime role inserted behind the append function's back", async () => {
    await runtime.db.transaction((tx) => appendAudit(tx, [event("before-forgery")]));
    const [last] = (await queryAudit(runtime.db)).slice(-1);
    const content = normalizeEntry(event("forger"), last!.lane);
    const hash = hashEvent(last!.hash, content);
    await runtime.sql!`insert into audit_events (lane, at, event, actor, data, prev_hash, hash)
      values (${content.lane}, ${T0.toISOString()}, ${content.event}, ${content.actor}, '{}'::jsonb, ${last!.hash}, ${hash})`;
    expect(await verifyAuditChain(runtime)).toMatchObject({
      ok: false,
      brokenAt: { reason: "head_not_last", expected: last!.hash, found: hash },
    });
    // The owner repairs it for the next test: the forged event goes.
    await asOwner(owner, sql`delete from audit_events where actor = 'forger'`);
    expect(await verifyAuditChain(runtime)).toMatchObject({ ok: true });
  });

  it("`pim audit verify --checkpoint` catches what the owner rewrote, which plain verify accepts", async () => {
    const lane = await appendLane(runtime, "cli");
    const checkpoint: Checkpoint = await takeCheckpoint(runtime.db, KEY, new Date());
    const file = join(dir, "audit-stream.jsonl");
    await writeFile(file, `${JSON.stringify({ type: "event", id: 0 })}\n${JSON.stringify(checkpoint)}\n`);
    const cli = (...args: string[]) => runCli(urlAs(runtimeRole), urlAs(ownerRole), ...args);

    expect(await cli("audit", "verify", "--checkpoint", file)).toMatchObject({ code: 0 });
    await asOwner(owner, ...cutTail(lane, 4));
    expect(await cli("audit", "verify")).toMatchObject({ code: 0 });
    const caught = await cli("audit", "verify", "--checkpoint", file);
    expect(caught.code).toBe(1);
    expect(caught.stderr).toContain(`Audit log REWRITTEN since the checkpoint of ${checkpoint.at}`);
    expect(caught.stderr).toContain(`event ${lane[5]!.id} had hash ${lane[5]!.hash}; it is gone`);

    // A checkpoint edited to match the rewrite has no valid signature.
    const edited = {
      ...checkpoint,
      lanes: checkpoint.lanes.map((l) =>
        l.lane === lane[0]!.lane ? { ...l, id: lane[3]!.id, hash: lane[3]!.hash } : l,
      ),
    };
    await writeFile(file, `${JSON.stringify(edited)}\n`);
    const forged = await cli("audit", "verify", "--checkpoint", file);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toContain("has a signature AUDIT_CHECKPOINT_KEY did not make");
    expect(await readFile(file, "utf8")).toContain(lane[3]!.hash);
  }, 60_000);
});

/** The grants the README gives the runtime role, with this test's role names. */
function readmeGrants(ownerRole: string, runtimeRole: string): string {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const block = readme.match(/<!-- runtime-grants -->\s*```sql\n([\s\S]*?)```/);
  if (!block) throw new Error("README has no runtime-grants block");
  return block[1]!.replaceAll("pimbot_owner", ownerRole).replaceAll("pimbot", runtimeRole);
}

const exec = promisify(execFile);

async function runCli(
  databaseUrl: string,
  ownerUrl: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = new URL("../../src/cli.ts", import.meta.url).pathname;
  const tsx = new URL("../../node_modules/.bin/tsx", import.meta.url).pathname;
  try {
    const { stdout, stderr } = await exec(tsx, [cli, ...args], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: databaseUrl,
        MIGRATION_DATABASE_URL: ownerUrl,
        AUDIT_CHECKPOINT_KEY: KEY,
        LOG_LEVEL: "silent",
      },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
