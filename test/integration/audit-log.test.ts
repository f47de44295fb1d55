import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inTransaction } from "../../src/app/kernel/unit-of-work.js";
import { type AuditEntry, appendAudit, GENESIS_HASH, hashEvent, normalizeEntry } from "../../src/db/audit-append.js";
import {
  type AuditFilter,
  type BatchOptions,
  exportAuditCsv,
  queryAudit,
  verifyAuditChain,
} from "../../src/db/audit-log.js";
import { type DbHandle, openDatabase, resultRows } from "../../src/db/client.js";
import {
  createTestDatabase,
  describeEachDatabase,
  describeOnPostgres,
  type TestDatabase,
} from "../support/databases.js";

const T0 = new Date("2026-03-01T09:00:00.000Z");
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

const HEADER =
  "time,event,actor,subject,role,scope,justification,ticket,decision,approver,request_id,activation_id,hash";

function event(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return { at: T0, event: "activation.requested", actor: "alice", ...overrides };
}

async function append(handle: DbHandle, entries: AuditEntry[]): Promise<void> {
  await handle.db.transaction((tx) => appendAudit(tx, entries));
}

async function countOf(handle: DbHandle, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = resultRows<{ n: number }>(await handle.db.execute(query));
  return row!.n;
}

/** How many lanes the log has: the database says (audit_lane_count, in the migrations). */
const laneCount = (handle: DbHandle) => countOf(handle, sql`select audit_lane_count() as n`);

/** What an attacker with database access might do: switch the guard triggers off for one statement. */
async function behindTheCodesBack(handle: DbHandle, statement: ReturnType<typeof sql>): Promise<void> {
  await handle.db.transaction(async (tx) => {
    await tx.execute(sql`alter table audit_events disable trigger user`);
    await tx.execute(statement);
    await tx.execute(sql`alter table audit_events enable trigger user`);
  });
}

async function idsOf(handle: DbHandle): Promise<number[]> {
  return (await queryAudit(handle.db)).map((row) => row.id);
}

/** drizzle wraps driver errors; the database's own message is in the cause. */
async function failureText(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, "expected the statement to be refused").not.toBeNull();
  const { message, cause } = error as Error & { cause?: Error };
  return `${message} ${cause?.message ?? ""}`;
}

class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

/** Takes a turn of the event loop per write and asks for a pause after 1 KiB. */
class SlowCollector extends Collector {
  drains = 0;
  constructor() {
    super({ highWaterMark: 1024 });
    this.on("drain", () => this.drains++);
  }
  override _write(chunk: Buffer, encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    setImmediate(() => super._write(chunk, encoding, done));
  }
}

async function exportCsv(
  handle: Pick<DbHandle, "db" | "sql">,
  filter: AuditFilter = {},
  options?: BatchOptions,
): Promise<{ rows: number; csv: string }> {
  const out = new Collector();
  const { rows } = await exportAuditCsv(handle, filter, out, options);
  return { rows, csv: out.text() };
}

/** Text cells a spreadsheet would run as formulas, and text that tests CSV quoting. */
const TRICKY: AuditEntry[] = [
  event({ justification: "restart web, then check", ticket: 'INC-1 "urgent"' }),
  event({ justification: "line one\nline two\r\nline three\rend" }),
  event({ justification: '=HYPERLINK("http://evil","x")', ticket: "+1", scope: "-/mg", approver: "@here" }),
  event({ justification: "\tcmd", ticket: "\r=1", role: "=SUM(A1)" }),
  event({ justification: "", subject: null, ticket: "", decision: "" }),
  event({ justification: "\\.", ticket: "back\\slash", scope: "émoji 🎉, ünïcode" }),
  event({ justification: "'already quoted", ticket: "a=b", decision: "x-y" }),
  event({ at: new Date("2026-03-01T09:00:00.007Z"), event: "activation.granted", actor: "system" }),
];

describeEachDatabase("audit log", (driver) => {
  let handle: TestDatabase;
  beforeEach(async () => {
    handle = await createTestDatabase(driver);
  });
  afterEach(async () => {
    await handle.dispose();
  });

  it("verifies an empty log as the start of a chain", async () => {
    expect(await verifyAuditChain(handle)).toEqual({ ok: true, checked: 0, lastHash: GENESIS_HASH });
  });

  it("verifies events appended over several transactions, across batch boundaries", async () => {
    for (let i = 0; i < 4; i++)
      await append(handle, [event({ at: minutes(i) }), event({ at: minutes(i), actor: "bob" })]);
    const rows = await queryAudit(handle.db);

    const report = await verifyAuditChain(handle, { batchSize: 3 });

    expect(report).toEqual({ ok: true, checked: 8, lastHash: rows[7]!.hash });
    expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
  });

  it("keeps verifying when text and data hold what the database rewrites", async () => {
    await append(handle, [
      // A justification cut in the middle of an emoji, and data JSON cannot say exactly.
      event({
        justification: "fix \ud83d",
        data: { list: [1, undefined, "x\udc00"], nested: { b: 1, a: 2 }, gone: undefined },
      }),
      event({ data: { when: new Date("2026-03-01T10:00:00Z"), big: 2 ** 70, small: 1e-7 } }),
    ]);
    expect((await verifyAuditChain(handle)).ok).toBe(true);
  });

  it("points at exactly the row whose content was changed", async () => {
    await append(handle, [event(), event({ justification: "routine" }), event()]);
    const [, edited] = await queryAudit(handle.db);

    await behindTheCodesBack(
      handle,
      sql`update audit_events set justification = 'nothing to see' where id = ${edited!.id}`,
    );

    const report = await verifyAuditChain(handle);
    expect(report).toMatchObject({ ok: false, checked: 1, brokenAt: { id: edited!.id, reason: "hash_mismatch" } });
    expect(report.ok === false && report.brokenAt.found).toBe(edited!.hash);
  });

  it("points at the next row when a changed row was also rehashed", async () => {
    await append(handle, [event(), event({ justification: "routine" }), event()]);
    const [, rewritten, next] = await queryAudit(handle.db);
    const forgedHash = hashEvent(
      rewritten!.prevHash,
      normalizeEntry({ ...rewritten!, justification: "forged" }, rewritten!.lane),
    );

    await behindTheCodesBack(
      handle,
      sql`update audit_events set justification = 'forged', hash = ${forgedHash} where id = ${rewritten!.id}`,
    );

    expect(await verifyAuditChain(handle)).toEqual({
      ok: false,
      checked: 2,
      brokenAt: { id: next!.id, reason: "prev_mismatch", expected: forgedHash, found: rewritten!.hash },
    });
  });

  it("points at the row after a deleted one", async () => {
    await append(handle, [event(), event(), event(), event()]);
    const [, , deleted, next] = await queryAudit(handle.db);

    await behindTheCodesBack(handle, sql`delete from audit_events where id = ${deleted!.id}`);

    expect(await verifyAuditChain(handle, { batchSize: 2 })).toMatchObject({
      ok: false,
      checked: 2,
      brokenAt: { id: next!.id, reason: "prev_mismatch", found: deleted!.hash },
    });
  });

  it("notices rows deleted from the start of the log", async () => {
    await append(handle, [event(), event()]);
    const [first, second] = await queryAudit(handle.db);

    await behindTheCodesBack(handle, sql`delete from audit_events where id = ${first!.id}`);

    expect(await verifyAuditChain(handle)).toEqual({
      ok: false,
      checked: 0,
      brokenAt: { id: second!.id, reason: "missing_predecessor", expected: GENESIS_HASH, found: first!.hash },
    });
  });

  it("is refused by the database when anyone updates, deletes or truncates events", async () => {
    await append(handle, [event()]);

    for (const statement of [
      sql`update audit_events set justification = 'x'`,
      sql`delete from audit_events`,
      sql`truncate audit_events`,
    ]) {
      expect(await failureText(handle.db.execute(statement))).toContain("append-only");
    }
    expect(await idsOf(handle)).toHaveLength(1);
    expect((await verifyAuditChain(handle)).ok).toBe(true);
  });

  it("notices events cut from the end of a lane, which no link points back to", async () => {
    await append(handle, [event(), event(), event()]);
    const [first, second, third] = await queryAudit(handle.db);

    await behindTheCodesBack(handle, sql`delete from audit_events where id = ${third!.id}`);

    expect(await verifyAuditChain(handle)).toEqual({
      ok: false,
      checked: 2,
      brokenAt: { id: second!.id, reason: "missing_tail", expected: third!.hash, found: second!.hash },
    });
    expect(first!.lane).toBe(third!.lane);
  });

  it("requires each head to be its lane's last event: an event added behind the append function's back is found", async () => {
    await append(handle, [event(), event()]);
    const [, second] = await queryAudit(handle.db);
    // A well-formed event linked onto the head, inserted directly: the head does not name it.
    const content = normalizeEntry(event({ actor: "forger" }), second!.lane);
    const hash = hashEvent(second!.hash, content);
    await handle.db.execute(sql`
      insert into audit_events (lane, at, event, actor, data, prev_hash, hash)
      values (${content.lane}, ${content.at.toISOString()}::timestamptz, ${content.event}, ${content.actor},
        ${JSON.stringify(content.data)}::jsonb, ${second!.hash}, ${hash})`);
    const [, , forged] = await queryAudit(handle.db);
    expect(await verifyAuditChain(handle)).toEqual({
      ok: false,
      checked: 3,
      brokenAt: { id: forged!.id, reason: "head_not_last", expected: second!.hash, found: hash },
    });
  });

  it("moves a head only to its lane's last event, whoever moves it", async () => {
    await append(handle, [event(), event()]);
    const [first, second] = await queryAudit(handle.db);
    for (const target of [first!.hash, "f".repeat(64), GENESIS_HASH])
      expect(
        await failureText(handle.db.execute(sql`update audit_lanes set hash = ${target} where lane = ${second!.lane}`)),
      ).toContain("a head moves only to its lane's last event");
    expect(
      await failureText(
        handle.db.execute(
          sql`select * from audit_append_chained(${JSON.stringify([{ ...normalizeEntry(event(), second!.lane), prevHash: first!.hash, hash: "f".repeat(64) }])}::json)`,
        ),
      ),
    ).toContain("does not follow the head");
    expect(await verifyAuditChain(handle)).toMatchObject({ ok: true, checked: 2 });
  });

  it("refuses to remove a lane's head, and rebuilds the heads when a restore left them out", async () => {
    await append(handle, [event(), event()]);
    for (const statement of [sql`delete from audit_lanes`, sql`truncate audit_lanes`])
      expect(await failureText(handle.db.execute(statement))).toContain("audit_lanes keeps every lane's head");

    // A restore that skipped the heads: the replica role bypasses the guard, as pg_restore's would.
    await handle.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(sql`delete from audit_lanes`);
    });
    await append(handle, [event({ actor: "after-restore" })]);

    expect(await verifyAuditChain(handle)).toMatchObject({ ok: true, checked: 3 });
    const rows = await queryAudit(handle.db);
    expect(await countOf(handle, sql`select count(*)::int as n from audit_lanes`)).toBe(await laneCount(handle));
    const [, second, third] = rows;
    if (third!.lane === second!.lane) expect(third!.prevHash).toBe(second!.hash);
  });

  it("links events with the hash verify computes, a few events or thousands at once", async () => {
    await append(handle, [event({ justification: "é ✓ 🎉", data: { n: 1.5, deep: { b: [true, "x"] } } })]);
    await append(
      handle,
      Array.from({ length: 250 }, (_, i) => event({ ticket: `T-${i}`, data: { i } })),
    );
    await handle.db.transaction(async (tx) => {
      await appendAudit(tx, [event({ actor: "one" })]);
      await appendAudit(
        tx,
        Array.from({ length: 150 }, () => event({ actor: "many" })),
      );
      await appendAudit(tx, [event({ actor: "two" })]);
    });
    expect(await verifyAuditChain(handle)).toMatchObject({ ok: true, checked: 1 + 250 + 152 });
    // One transaction keeps to one lane.
    const lanes = new Set(
      (await queryAudit(handle.db, { event: "activation.requested" })).slice(251).map((r) => r.lane),
    );
    expect(lanes.size).toBe(1);
  });

  describe("filters", () => {
    const history: AuditEntry[] = [
      event({ at: minutes(0), actor: "alice", subject: "alice", role: "db-admin", requestId: "req_1" }),
      event({
        at: minutes(1),
        event: "approval.decided",
        actor: "bob",
        subject: "alice",
        approver: "bob",
        role: "db-admin",
        requestId: "req_1",
        decision: "approve",
      }),
      event({
        at: minutes(2),
        event: "activation.granted",
        actor: "system",
        subject: "alice",
        role: "db-admin",
        requestId: "req_1",
      }),
      event({ at: minutes(3), actor: "carol", subject: "carol", role: "Global Administrator", requestId: "req_2" }),
      event({
        at: minutes(4),
        event: "approval.decided",
        actor: "dave",
        subject: "carol",
        approver: "dave",
        role: "Global Administrator",
        requestId: "req_2",
        decision: "deny",
      }),
    ];
    const positions = async (filter: AuditFilter) => {
      const ids = await idsOf(handle);
      return (await queryAudit(handle.db, filter)).map((row) => ids.indexOf(row.id) + 1);
    };

    it("filters by time window, principal, role, event and request", async () => {
      await append(handle, history);

      expect(await positions({})).toEqual([1, 2, 3, 4, 5]);
      expect(await positions({ from: minutes(1), to: minutes(3) })).toEqual([2, 3]);
      expect(await positions({ principal: "alice" })).toEqual([1, 2, 3]);
      expect(await positions({ principal: "bob" })).toEqual([2]);
      expect(await positions({ principal: "dave" })).toEqual([5]);
      expect(await positions({ role: "Global Administrator" })).toEqual([4, 5]);
      expect(await positions({ event: "approval.decided" })).toEqual([2, 5]);
      expect(await positions({ event: ["activation.requested", "activation.granted"] })).toEqual([1, 3, 4]);
      expect(await positions({ event: [] })).toEqual([]);
      expect(await positions({ requestId: "req_2", event: "approval.decided" })).toEqual([5]);
      expect(await positions({ principal: "alice' or '1'='1" })).toEqual([]);
    });

    it("pages with limit and afterId", async () => {
      await append(handle, history);

      const first = await queryAudit(handle.db, { principal: "alice", limit: 2 });
      const rest = await queryAudit(handle.db, { principal: "alice", limit: 2, afterId: first[1]!.id });

      expect(first.map((row) => row.event)).toEqual(["activation.requested", "approval.decided"]);
      expect(rest.map((row) => row.event)).toEqual(["activation.granted"]);
      await expect(queryAudit(handle.db, { limit: -1 })).rejects.toThrow(RangeError);
    });

    it("exports only the filtered events, through every filter value safely", async () => {
      await append(handle, history);

      const carol = await exportCsv(handle, { principal: "carol", from: minutes(0), to: minutes(10) });
      const injected = await exportCsv(handle, {
        principal: "x' or true --",
        role: "\\'; drop table audit_events; --",
      });
      const limited = await exportCsv(handle, { requestId: "req_1", limit: 2 });
      const none = await exportCsv(handle, { event: [] });

      expect(carol.rows).toBe(2);
      expect(carol.csv.split("\n").map((line) => line.split(",").slice(0, 3).join(","))).toEqual([
        "time,event,actor",
        "2026-03-01T09:03:00.000Z,activation.requested,carol",
        "2026-03-01T09:04:00.000Z,approval.decided,dave",
        "",
      ]);
      expect(injected).toEqual({ rows: 0, csv: `${HEADER}\n` });
      expect(limited.rows).toBe(2);
      expect(none).toEqual({ rows: 0, csv: `${HEADER}\n` });
      expect(await idsOf(handle)).toHaveLength(5);
    });
  });

  it("exports CSV with a header, RFC 4180 quoting and formulas neutralized", async () => {
    await append(handle, [
      event({
        at: new Date("2026-03-01T09:00:00.120Z"),
        actor: "alice",
        subject: "alice",
        role: "db-admin",
        scope: "/mg/prod",
        justification: 'deploy, "hotfix"\nsecond line',
        ticket: "=1+1",
        requestId: "req_1",
        activationId: "act_1",
      }),
      event({ event: "approval.decided", actor: "bob", approver: "@bob", decision: "-approve", justification: "" }),
    ]);
    const [first, second] = await queryAudit(handle.db);

    const { rows, csv } = await exportCsv(handle);

    expect(rows).toBe(2);
    expect(csv).toBe(
      [
        HEADER,
        `2026-03-01T09:00:00.120Z,activation.requested,alice,alice,db-admin,/mg/prod,"deploy, ""hotfix""\nsecond line",'=1+1,,,req_1,act_1,${first!.hash}`,
        `2026-03-01T09:00:00.000Z,approval.decided,bob,,,,"",,'-approve,'@bob,,,${second!.hash}`,
        "",
      ].join("\n"),
    );
  });

  it("neutralizes every formula trigger and quotes what needs quoting", async () => {
    await append(handle, TRICKY);

    const { rows, csv } = await exportCsv(handle, {}, { batchSize: 3 });

    expect(rows).toBe(TRICKY.length);
    expect(csv).toContain(`,'-/mg,"'=HYPERLINK(""http://evil"",""x"")",'+1,,'@here,`);
    expect(csv).toContain(`,'=SUM(A1),`);
    expect(csv).toContain(`,'\tcmd,"'\r=1",`);
    expect(csv).toContain(`,"","","",`);
    expect(csv).toContain(`,"line one\nline two\r\nline three\rend",`);
    expect(csv).toContain(`,'already quoted,a=b,x-y,`);
    expect(csv).toContain(`,"émoji 🎉, ünïcode",\\.,back\\slash,`);
    expect(csv).toContain("2026-03-01T09:00:00.007Z,activation.granted,system,");
  });

  it("waits for a slow destination and leaves it open", async () => {
    const many = Array.from({ length: 600 }, (_, i) => event({ justification: `reason ${i} `.repeat(30) }));
    await append(handle, many);
    const slow = new SlowCollector();

    const { rows } = await exportAuditCsv(handle, {}, slow);

    expect(rows).toBe(600);
    expect(slow.drains).toBeGreaterThan(0);
    expect(slow.writableEnded).toBe(false);
    expect(slow.text()).toBe((await exportCsv(handle)).csv);
  });

  it("fails when the destination fails, and the database stays usable", async () => {
    await append(
      handle,
      Array.from({ length: 2000 }, () => event({ justification: "x".repeat(200) })),
    );
    const broken = new Writable({
      write: (_chunk, _encoding, done) => done(new Error("disk full")),
    });

    await expect(exportAuditCsv(handle, {}, broken)).rejects.toThrow("disk full");
    expect(await idsOf(handle)).toHaveLength(2000);
  });
});

describeOnPostgres("audit log on the PostgreSQL server", () => {
  let handle: TestDatabase;
  beforeEach(async () => {
    handle = await createTestDatabase("postgres");
  });
  afterEach(async () => {
    await handle.dispose();
  });

  it("writes the same CSV bytes through COPY as through batched reads", async () => {
    await append(handle, TRICKY);
    await append(handle, [event({ subject: "alice", role: "db-admin", approver: "bob" })]);

    for (const filter of [{}, { principal: "alice" }, { limit: 3, afterId: 2 }, { event: ["activation.granted"] }]) {
      const copied = await exportCsv(handle, filter);
      const batched = await exportCsv({ db: handle.db, sql: null }, filter, { batchSize: 2 });
      expect(copied.csv).toBe(batched.csv);
      expect(copied.rows).toBe(batched.rows);
    }
  });

  it("never forks a lane under REPEATABLE READ: an append on a moved head fails to be retried", async () => {
    // Every lane's head moves after the reader's snapshot, so whichever it takes has moved.
    await append(handle, [event()]);
    const other = await openDatabase({ driver: "postgres", url: handle.url!, poolSize: 1 });
    try {
      const attempt = handle.db.transaction(
        async (tx) => {
          await tx.execute(sql`select count(*) from audit_events`); // the snapshot is taken here
          const lanes = await laneCount(handle);
          for (let lane = 0; lane < lanes; lane++)
            await other.db.transaction((otx) =>
              otx.execute(sql`select * from audit_append('[]'::json, ${lane}::int, ${lanes}::int, ${lane}::int)`),
            );
          await appendAudit(tx, [event({ actor: "stale" })]);
        },
        { isolationLevel: "repeatable read" },
      );
      expect(await failureText(attempt)).toMatch(/could not serialize/);
      expect(await verifyAuditChain(handle)).toMatchObject({ ok: true });
    } finally {
      await other.close();
    }
  });

  it("rolls the whole unit back when its audit events cannot be written, whether or not COMMIT went out with them", async () => {
    const deps = { db: handle.db, clock: { now: () => T0 }, events: { publish: () => {} } };
    // A guard that refuses one event, standing in for any failure of the append.
    await handle.db.execute(sql`
      create function refuse_poison() returns trigger language plpgsql as $$
      begin if new.actor = 'poison' then raise exception 'poisoned event'; end if; return new; end $$`);
    await handle.db.execute(
      sql`create trigger refuse_poison before insert on audit_events for each row execute function refuse_poison()`,
    );
    await handle.db.execute(sql`create table side_effects (n int)`);
    // A few events (one statement sent with COMMIT) or many (hashed here, in chunks).
    const unit = (actor: string, before = 0) =>
      inTransaction(deps, async (work) => {
        await work.tx.execute(sql`insert into side_effects values (1)`);
        for (let i = 0; i < before; i++) work.audit({ event: "test.unit", actor: "before" });
        work.audit({ event: "test.unit", actor });
      });

    await expect(unit("poison")).rejects.toThrow();
    await expect(unit("poison", 150)).rejects.toThrow();
    await unit("fine");

    const effects = await handle.db.execute(sql`select count(*)::int as n from side_effects`);
    expect(JSON.stringify(effects)).toContain('"n":1');
    expect((await queryAudit(handle.db)).map((r) => r.actor)).toEqual(["fine"]);
    expect(await verifyAuditChain(handle)).toMatchObject({ ok: true, checked: 1 });
  });

  it("keeps one chain when many transactions append at once", async () => {
    const workers = 8;
    const perWorker = 50;

    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        for (let i = 0; i < perWorker; i++) await append(handle, [event({ actor: `worker-${w}`, ticket: String(i) })]);
      }),
    );

    expect(await verifyAuditChain(handle)).toMatchObject({ ok: true, checked: workers * perWorker });
  });

  it("gives its connection back after a COPY to a slow destination or a failing one", async () => {
    await append(
      handle,
      Array.from({ length: 3000 }, () => event({ justification: "y".repeat(200) })),
    );
    // One connection: if a COPY left it stuck, the next query would never answer.
    const single = await openDatabase({ driver: "postgres", url: handle.url!, poolSize: 1 });
    const count = () => single.sql!`select count(*)::int as n from audit_events`;
    try {
      let writes = 0;
      const failsLater = new Writable({
        write: (_chunk, _encoding, done) => (++writes > 2 ? done(new Error("client went away")) : done()),
      });

      expect(await exportAuditCsv(single, {}, new SlowCollector())).toEqual({ rows: 3000 });
      expect(await count()).toEqual([{ n: 3000 }]);
      await expect(exportAuditCsv(single, {}, failsLater)).rejects.toThrow("client went away");
      expect(await count()).toEqual([{ n: 3000 }]);
    } finally {
      await single.close();
    }
  });
});
