import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { deactivate } from "../../src/app/activation/end.js";
import { expireDueActivations } from "../../src/app/activation/expire.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { parsePimFile } from "../../src/config/pim-file.js";
import { PostgresConnector } from "../../src/connectors/postgres.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeOnPostgres, TEST_DATABASE_URL } from "../support/databases.js";
import { createHarness, type Harness, parseConfig } from "../support/harness.js";
import { postgresPolicy } from "../support/policies.js";
import { PostgresTarget } from "../support/postgres-target.js";
import { TcpProxy } from "../support/tcp-proxy.js";

describeOnPostgres("postgres connector on a real target", () => {
  let target: PostgresTarget;
  let e: Harness;
  let started: Harness | undefined;
  let names: { alice: string; bob: string; boss: string; role: string };
  let proxy: TcpProxy | undefined;

  beforeEach(async () => {
    target = await PostgresTarget.create();
    names = {
      alice: target.name("alice"),
      bob: target.name("bob"),
      boss: target.name("boss"),
      role: `db_admin_${target.suffix}`,
    };
    await target.createRole(names.role);
    await target.createRole(names.alice, { login: true });
  });
  afterEach(async () => {
    await started?.dispose();
    started = undefined;
    await proxy?.down();
    proxy = undefined;
    await target.dispose();
  });

  async function start(targetUrl = target.url) {
    e = await createHarness("postgres", parseConfig(postgresPolicy(names)), {
      env: { PIM_TEST_TARGET_URL: targetUrl },
    });
    started = e;
  }

  async function requestAndApprove(user: string, scope?: string) {
    const r = await requestActivation(e.deps, {
      requesterId: await e.user(user),
      roles: [{ roleId: await e.role("db-admin"), scope: scope ?? null }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    const d = await decide(e.deps, {
      requestId: r.value.requestId,
      approverId: await e.user(names.boss),
      decision: "approve",
    });
    if (!d.ok) throw new Error(d.error.message);
    return r.value.activations[0]!;
  }

  it("grants membership after approval and takes it away at expiry", async () => {
    await start();
    const a = await requestAndApprove(names.alice);
    expect(await target.isMember(names.alice, names.role)).toBe(false);
    await e.worker.drain();
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("active");
    expect(await target.isMember(names.alice, names.role)).toBe(true);
    const [granted] = await queryAudit(e.deps.db, { event: "connector.grant.succeeded" });
    expect(granted!.data.detail).toBe(`granted "${names.role}" to "${names.alice}"`);

    e.clock.advance(HOUR);
    expect(await expireDueActivations(e.deps, 100)).toBe(1);
    await e.worker.drain();
    expect(await target.isMember(names.alice, names.role)).toBe(false);
    const after = await getActivation(e.deps.db, a.id);
    expect(after!.status === "ended" && after!.reason).toBe("expired");
  });

  it("takes membership away on early deactivation", async () => {
    await start();
    const a = await requestAndApprove(names.alice);
    await e.worker.drain();
    expect(await target.isMember(names.alice, names.role)).toBe(true);
    e.clock.advance(10 * 60_000);
    expect((await deactivate(e.deps, a.id, await e.user(names.alice))).ok).toBe(true);
    await e.worker.drain();
    expect(await target.isMember(names.alice, names.role)).toBe(false);
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("ended");
  });

  it("treats granting what is held and revoking what is not as success", async () => {
    await start();
    const connector = new PostgresConnector({ url: target.url, role: names.role });
    try {
      const req = {
        login: names.alice,
        principalKey: names.alice,
        roleKey: "db-admin",
        scope: "/",
        activationId: null,
        idempotencyKey: "job_x",
      };
      expect(await connector.revoke(req)).toEqual({
        ok: true,
        detail: `"${names.alice}" was not a member of "${names.role}"`,
      });
      expect((await connector.grant({ ...req, until: null })).ok).toBe(true);
      expect(await connector.grant({ ...req, until: null })).toEqual({
        ok: true,
        detail: `"${names.alice}" was already a member of "${names.role}"`,
      });
      expect(await connector.list()).toEqual([
        { login: names.alice, principalKey: names.alice, roleKey: names.role, scope: "/" },
      ]);
      expect((await connector.revoke(req)).ok).toBe(true);
      expect((await connector.revoke(req)).ok).toBe(true);
      expect(await target.isMember(names.alice, names.role)).toBe(false);
    } finally {
      await connector.close();
    }
  });

  it("fails for good, with a clear message, when the login does not exist on the target", async () => {
    await start();
    const a = await requestAndApprove(names.bob); // bob has no login on the target
    await e.worker.drain();
    const after = await getActivation(e.deps.db, a.id);
    expect(after!.status).toBe("failed");
    const [failed] = await queryAudit(e.deps.db, { event: "connector.grant.failed" });
    expect(failed!.data).toMatchObject({
      retryable: false,
      final: true,
      error: `the login "${names.bob}" does not exist on the target database; create it there first`,
    });
  });

  it("quotes names so that a hostile role name is just a name", async () => {
    await target.sql`create table y (id int)`;
    const hostile = `x"; DROP TABLE y; --${target.suffix}`;
    await target.createRole(hostile);
    const login = await target.createRole(`o'neil "q" ${target.suffix}`, { login: true });
    const connector = new PostgresConnector({ url: target.url, role: hostile });
    try {
      const req = { login, principalKey: "x", roleKey: "x", scope: "/", activationId: null, idempotencyKey: "job_y" };
      expect(await connector.grant({ ...req, until: null })).toMatchObject({ ok: true });
      expect(await target.isMember(login, hostile)).toBe(true);
      expect(await connector.revoke(req)).toMatchObject({ ok: true });
      expect(await target.isMember(login, hostile)).toBe(false);
      const [table] = await target.sql`select to_regclass('public.y') as t`;
      expect(table!.t).toBe("y");
      const tooLong = new PostgresConnector({ url: target.url, role: "r".repeat(64) });
      expect(await tooLong.grant({ ...req, until: null })).toEqual({
        ok: false,
        retryable: false,
        error: `the role name "${"r".repeat(64)}" is 64 bytes long; PostgreSQL allows at most 63`,
      });
      await tooLong.close();
    } finally {
      await connector.close();
    }
  });

  it("refuses a hostile role name in pim.yaml, where the admin typed it", () => {
    const parsed = parsePimFile(postgresPolicy({ ...names, role: `'x"; DROP TABLE y; --'` }), "pim.yaml");
    expect(parsed.ok).toBe(false);
    if (!parsed.ok)
      expect(parsed.error).toContainEqual(
        expect.objectContaining({
          path: "roles[0].connector.role",
          message: "must be a PostgreSQL role name such as db_admin (at most 63 characters)",
        }),
      );
  });

  it("retries a grant while the target database is down and completes it when it is back", async () => {
    const server = new URL(TEST_DATABASE_URL);
    proxy = await new TcpProxy(server.hostname, Number(server.port || 5432)).up();
    const viaProxy = new URL(target.url);
    viaProxy.port = String(proxy.port);
    await proxy.down();
    await start(viaProxy.toString());

    const a = await requestAndApprove(names.alice);
    await e.worker.drain();
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("activating");
    const [failed] = await queryAudit(e.deps.db, { event: "connector.grant.failed" });
    expect(failed!.data).toMatchObject({ retryable: true, final: false });
    expect(String(failed!.data.error)).toMatch(/^the target database is unreachable: ECONNREFUSED/);
    expect(String(failed!.data.error)).not.toContain("postgres://");

    await proxy.up();
    e.clock.advance(60_000);
    await e.worker.drain();
    expect((await getActivation(e.deps.db, a.id))!.status).toBe("active");
    expect(await target.isMember(names.alice, names.role)).toBe(true);
  });
});
