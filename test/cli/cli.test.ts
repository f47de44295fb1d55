import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { systemClock } from "../../src/app/kernel/clock.js";
import { noEvents } from "../../src/app/kernel/events.js";
import { runCli } from "../../src/cli/main.js";
import type { CliSettings } from "../../src/cli/session.js";
import { parseEnv } from "../../src/config/env.js";
import { exportAuditCsv, queryAudit } from "../../src/db/audit-log.js";
import { type DbHandle, openDatabase } from "../../src/db/client.js";
import { principalByKey, roleByKeyOrName } from "../../src/db/repos/directory.js";
import { alerts } from "../../src/db/schema/alerts.js";
import { mfaTotpSecrets } from "../../src/db/schema/mfa.js";
import { HOUR } from "../../src/domain/duration.js";
import { SecretBox } from "../../src/mfa/secret-box.js";
import { createTestDatabase, type DriverName, drivers, type TestDatabase } from "../support/databases.js";
import { tamperWithOldestEvent } from "./tamper.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const POLICY = join(ROOT, "test/fixtures/admin.yaml");
const SLOW = 240_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real `pim` binary, as a child process: the smoke test of the entry point and its exit codes. */
function pimProcess(env: Record<string, string>, ...args: string[]): Promise<Run> {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.PGLITE_DIR;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", ...args],
      { cwd: ROOT, env: { ...base, PIM_CONFIG: POLICY, LOG_LEVEL: "silent", ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The built `pim` (scripts/build.mjs, the bundle `npx pim` runs) as a child process, with only the
 * settings given: what a script or an operator's shell sees, on the PostgreSQL server.
 */
function pimBuilt(cli: string, env: Record<string, string>, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          PIM_CONFIG: POLICY,
          LOG_LEVEL: "silent",
          ...env,
        },
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * One command line through the same `runCli` the binary runs, in this process: stdout and stderr
 * captured as the binary would print them (an error thrown by a command is printed and exits 1,
 * as in src/cli.ts). On the embedded database the open handle is passed in, since PGlite admits
 * one opener at a time; on the server each command opens its own connection from DATABASE_URL.
 */
async function pimInProcess(settings: CliSettings, args: string[]): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const raw = new Writable({
    write(chunk, _encoding, done) {
      stdout.push(String(chunk));
      done();
    },
  });
  const io = {
    out: (text: string) => stdout.push(`${text}\n`),
    err: (text: string) => stderr.push(`${text}\n`),
    stdout: raw,
  };
  let code: number;
  try {
    code = await runCli(args, settings, io);
  } catch (error) {
    stderr.push(`${error instanceof Error ? error.message : String(error)}\n`);
    code = 1;
  }
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}

function cliSettings(vars: Record<string, string>, database?: DbHandle): CliSettings {
  const parsed = parseEnv({ PIM_CONFIG: POLICY, LOG_LEVEL: "silent", ...vars });
  if (!parsed.ok) throw new Error(parsed.message);
  const env = parsed.env;
  return {
    databaseUrl: env.DATABASE_URL,
    pgliteDir: env.PGLITE_DIR,
    pimConfig: env.PIM_CONFIG,
    operator: "tester",
    env,
    database,
  };
}

const parsed = (run: Run) => JSON.parse(run.stdout);

for (const driver of drivers) {
  describe(`the pim command line [${driver}]`, () => {
    let settings: CliSettings;
    let server: TestDatabase | undefined;
    let embedded: DbHandle | undefined;
    /** On the server every command runs the built binary; on the embedded database, in this process. */
    let built: string | undefined;
    let builtDir: string | undefined;
    const pim = (vars: Record<string, string>, args: string[]) =>
      built
        ? pimBuilt(built, { DATABASE_URL: server!.url!, ...vars }, args)
        : pimInProcess({ ...cliSettings({ ...vars, PGLITE_DIR: settings.pgliteDir! }, embedded) }, args);
    const run = (...args: string[]) => pim({}, args);

    /** The database under test, in this process, between two commands. */
    const withDb = <T>(fn: (handle: DbHandle) => Promise<T>): Promise<T> => fn((server ?? embedded)!);

    beforeAll(async () => {
      if ((driver as DriverName) === "postgres") {
        server = await createTestDatabase("postgres");
        settings = cliSettings({ DATABASE_URL: server.url! });
        // Beside dist/, so that the bundle finds node_modules and drizzle/ as dist/ does.
        const out = mkdtempSync(join(ROOT, ".build-cli-"));
        builtDir = out;
        await new Promise<void>((resolve, reject) =>
          execFile(process.execPath, ["scripts/build.mjs", "--out", out], { cwd: ROOT, timeout: SLOW }, (error) =>
            error ? reject(error) : resolve(),
          ),
        );
        built = join(out, "cli.js");
      } else {
        const dir = mkdtempSync(join(tmpdir(), "pim-cli-"));
        embedded = await openDatabase({ driver: "pglite", dataDir: dir });
        settings = cliSettings({ PGLITE_DIR: dir }, embedded);
      }
    }, SLOW);
    afterAll(async () => {
      await server?.dispose();
      await embedded?.close();
      if (builtDir) rmSync(builtDir, { recursive: true, force: true });
    });

    it(
      "check and apply: valid and invalid files, the dry run's diff, idempotence",
      async () => {
        const ok = await run("check", "--json");
        expect(ok.code).toBe(0);
        expect(parsed(ok)).toMatchObject({ ok: true, roles: 4, users: 6 });
        const badFile = join(mkdtempSync(join(tmpdir(), "pim-bad-")), "pim.yaml");
        writeFileSync(
          badFile,
          "version: 1\nroles:\n  - { key: x, name: X, policy: { activation: { maxDuration: 30h } } }\n",
        );
        const bad = await run("check", badFile);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain("roles[0].policy.activation.maxDuration: must be at most 24h (line 3)");

        const dry = await run("apply", "--dry-run");
        expect(dry.code).toBe(0);
        expect(dry.stdout).toMatch(/^Would apply \d+ changes:/);
        expect(dry.stdout).toContain("+ assignment.created bob reader / (eligible)");
        const still = await run("apply", "--dry-run", "--json");
        const diff = parsed(still).diff as { event: string }[];
        expect(parsed(still).changes).toBe(diff.filter((e) => e.event !== "config.applied").length);
        expect(parsed(still).changes).toBeGreaterThan(20);

        const applied = await run("apply");
        expect(applied.code).toBe(0);
        expect(applied.stdout).toContain("+ assignment.created dbas db-admin /mg/prod (eligible)");
        const again = await run("apply", "--json");
        expect(parsed(again)).toMatchObject({ ok: true, changes: 0, diff: [], staysRemoved: [] });
      },
      SLOW,
    );

    it(
      "assignments: add under the role's rules, list, extend, remove, kept removed through apply, restore",
      async () => {
        const added = await run(
          "assignments",
          "add",
          "alice",
          "reader",
          "--kind",
          "active",
          "--for",
          "7d",
          "--justification",
          "on call",
          "--json",
        );
        expect(added.code).toBe(0);
        const id = parsed(added).assignment.id as string;
        expect(parsed(added).assignment).toMatchObject({
          principalKey: "alice",
          roleKey: "reader",
          kind: "active",
          source: "cli",
        });

        const refused = await run(
          "assignments",
          "add",
          "alice",
          "db-admin",
          "--kind",
          "active",
          "--justification",
          "x",
        );
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("Database Administrator does not allow permanent active assignments");
        expect(refused.stderr).toContain("(PERMANENT_NOT_ALLOWED)");

        const listed = await run("assignments", "list", "--role", "reader", "--json");
        expect(
          parsed(listed)
            .map((a: { principal: { key: string }; source: string }) => `${a.principal.key}:${a.source}`)
            .sort(),
        ).toEqual(["alice:cli", "bob:file"]);
        const people = await run("assignments", "list");
        expect(people.stdout.split("\n")[0]).toMatch(
          /^id\s+principal\s+role\s+scope\s+kind\s+start\s+end\s+source\s+in force$/,
        );

        const extended = await run("assignments", "extend", id, "--for", "14d", "--reason", "longer rota", "--json");
        expect(extended.code).toBe(0);
        expect(new Date(parsed(extended).assignment.endsAt).getTime()).toBeGreaterThan(Date.now() + 13 * 24 * HOUR);

        const bob = parsed(listed).find((a: { principal: { key: string } }) => a.principal.key === "bob").id as string;
        const removed = await run("assignments", "remove", bob, "--reason", "left the team");
        expect(removed.code).toBe(0);
        expect(removed.stdout).toContain("stays removed");
        const kept = await run("apply");
        expect(kept.stdout).toContain(
          "bob eligible for reader at /: declared in the file, removed by administrator cli:",
        );
        expect(parsed(await run("assignments", "list", "--removed", "--json"))).toMatchObject([
          { principal: "bob", role: "reader", removedBy: "admin", reason: "left the team" },
        ]);
        expect((await run("assignments", "restore", "bob", "reader")).code).toBe(0);
        const restored = await run("apply", "--json");
        expect(parsed(restored).diff).toMatchObject([
          { event: "assignment.created", subject: "bob", role: "reader" },
          { event: "config.applied" },
        ]);
      },
      SLOW,
    );

    it(
      "activations, reviews, alerts and status",
      async () => {
        const activationId = await withDb(async (handle) => {
          const deps = { db: handle.db, clock: systemClock, events: noEvents };
          const bob = (await principalByKey(handle.db, "bob"))!;
          const reader = (await roleByKeyOrName(handle.db, "reader"))!;
          const done = await requestActivation(deps, {
            requesterId: bob.id,
            roles: [{ roleId: reader.id }],
            durationMs: HOUR,
            justification: "read",
            origin: "cli",
          });
          await handle.db.insert(alerts).values({
            id: "alr_cli",
            rule: "unauthorized_approval",
            conditionKey: "unauthorized_approval:mallory",
            severity: "high",
            title: "Unauthorized approval attempt",
            text: "mallory tried",
            subject: "mallory",
            details: { fields: [] },
            openedAt: new Date(),
            lastSeenAt: new Date(),
          });
          return done.ok ? done.value.activations[0]!.id : "";
        });
        const open = await run("activations", "list", "--json");
        expect(parsed(open).map((a: { id: string }) => a.id)).toContain(activationId);
        const ended = await run("activations", "end", activationId, "--reason", "incident 42", "--json");
        expect(ended.code).toBe(0);
        expect(parsed(ended)).toMatchObject({ ok: true, status: "ending" });
        const twice = await run("activations", "end", activationId, "--reason", "again");
        expect(twice.code).toBe(1);

        const started = await run("reviews", "start", "reader", "--json");
        expect(started.code).toBe(0);
        const reviewId = parsed(started).id as string;
        expect(parsed(await run("reviews", "list", "--json")).map((r: { id: string }) => r.id)).toEqual([reviewId]);
        expect((await run("reviews", "close", reviewId)).code).toBe(0);
        expect(parsed(await run("reviews", "list", "--json"))).toEqual([]);
        expect((await run("reviews", "start", "no-such-thing")).code).toBe(1);

        expect(parsed(await run("alerts", "list", "--json")).map((a: { id: string }) => a.id)).toEqual(["alr_cli"]);
        const acked = await run("alerts", "ack", "alr_cli", "--as", "erin", "--json");
        expect(parsed(acked).alert).toMatchObject({ status: "acknowledged", acknowledgedBy: { key: "erin" } });
        expect((await run("alerts", "ack", "alr_cli", "--as", "bob")).code).toBe(1);

        const status = await run("status", "--json");
        expect(parsed(status)).toMatchObject({ database: driver, reviewsRunning: 0, assignments: { active: 1 } });
        expect((await run("status")).stdout).toContain("eligible assignments in force");
      },
      SLOW,
    );

    it(
      "audit: query, export (the rows of the log), verify",
      async () => {
        const query = await run("audit", "query", "--principal", "alice", "--limit", "2", "--json");
        expect(parsed(query)).toHaveLength(2);
        const exported = await run("audit", "export", "--principal", "bob");
        expect(exported.code).toBe(0);
        expect(exported.stderr).toMatch(/^Exported \d+ events\.$/m);
        const file = join(mkdtempSync(join(tmpdir(), "pim-export-")), "audit.csv");
        expect((await run("audit", "export", "--principal", "bob", "--out", file)).code).toBe(0);
        const expected = await withDb(async (handle) => {
          const chunks: string[] = [];
          const sink = new Writable({
            write(chunk, _e, done) {
              chunks.push(String(chunk));
              done();
            },
          });
          await exportAuditCsv(handle, { principal: "bob" }, sink);
          return chunks.join("");
        });
        expect(readFileSync(file, "utf8")).toBe(expected);
        expect(exported.stdout).toBe(expected);

        const intact = await run("audit", "verify", "--json");
        expect(intact.code).toBe(0);
        expect(parsed(intact)).toMatchObject({ ok: true });
      },
      SLOW,
    );

    it(
      "audit verify exits 1 on a log edited behind the application's back",
      async () => {
        const edited = await withDb(tamperWithOldestEvent);
        expect(edited).toMatch(/^\d+$/);
        const broken = await run("audit", "verify");
        expect(broken.code).toBe(1);
        expect(broken.stderr).toContain(`Audit log BROKEN at event ${edited} (hash_mismatch)`);
      },
      SLOW,
    );

    it(
      "mfa rekey seals authenticator secrets with the new key, and names those no key opens",
      async () => {
        const [oldKey, newKey, lostKey] = [1, 2, 3].map(() => randomBytes(32));
        const alice = await withDb(async (handle) => (await principalByKey(handle.db, "alice"))!);
        const seal = (key: Buffer, id: string) =>
          withDb((handle) =>
            handle.db.insert(mfaTotpSecrets).values({
              id,
              principalId: alice.id,
              secret: new SecretBox(key!).seal("JBSWY3DPEHPK3PXP", alice.id),
              createdAt: new Date(),
            }),
          );
        await seal(oldKey!, "mfa_rekey_old");
        await seal(lostKey!, "mfa_rekey_lost");
        const ring = { PIM_ENCRYPTION_KEY: [newKey!, oldKey!].map((k) => k.toString("base64")).join(",") };

        const first = await pim(ring, ["mfa", "rekey", "--json"]);
        expect(first.code).toBe(1);
        expect(parsed(first)).toMatchObject({ ok: false, total: 2, rekeyed: 1, unreadable: ["mfa_rekey_lost"] });
        const stored = await withDb((handle) =>
          handle.db.select().from(mfaTotpSecrets).where(eq(mfaTotpSecrets.id, "mfa_rekey_old")),
        );
        expect(new SecretBox(newKey!).open(stored[0]!.secret, alice.id)).toBe("JBSWY3DPEHPK3PXP");

        await withDb((handle) => handle.db.delete(mfaTotpSecrets).where(eq(mfaTotpSecrets.id, "mfa_rekey_lost")));
        const again = await pim(ring, ["mfa", "rekey"]);
        expect(again.code).toBe(0);
        expect(again.stdout).toContain("0 of 1 authenticator secrets sealed again");
        const audited = await withDb((handle) => queryAudit(handle.db, { event: "mfa.rekeyed" }));
        expect(audited.map((e) => e.data)).toEqual([
          { total: 2, rekeyed: 1, unreadable: 1 },
          { total: 1, rekeyed: 0, unreadable: 0 },
        ]);
        expect((await run("mfa", "rekey")).stderr).toContain("PIM_ENCRYPTION_KEY is not set");
      },
      SLOW,
    );

    it(
      "wrong usage prints the usage and exits 2",
      async () => {
        const wrong = [
          [],
          ["bogus"],
          ["assignments", "bogus"],
          ["assignments", "add", "alice"],
          ["assignments", "add", "alice", "reader", "--kind", "sometimes"],
          ["assignments", "remove", "asg_x"],
          ["audit", "export", "--from", "yesterday"],
          ["audit", "query", "--limit", "-3"],
          ["alerts", "ack", "alr_cli"],
          ["status", "--colour"],
        ];
        // Wrong usage touches no database, so the lines may run side by side.
        const runs = await Promise.all(wrong.map((args) => run(...args)));
        for (const [i, r] of runs.entries()) {
          expect({ args: wrong[i], code: r.code }).toEqual({ args: wrong[i], code: 2 });
          expect(r.stdout + r.stderr).toMatch(/Usage: pim/);
        }
      },
      SLOW,
    );
  });
}

describe("the pim binary itself", () => {
  // Above, every command runs as the built binary on the PostgreSQL server and in this process on
  // the embedded database (one opener at a time); this is the source entry point (settings, output,
  // exit code) as a script sees it. test/build/dist-start.test.ts runs the build with production
  // dependencies only.
  it(
    "prints to stdout and stderr and exits 0 and 2 as a script sees them",
    async () => {
      const env = { PGLITE_DIR: mkdtempSync(join(tmpdir(), "pim-bin-")) };
      const [checked, usage] = await Promise.all([pimProcess(env, "check", "--json"), pimProcess(env, "bogus")]);
      expect(checked.code).toBe(0);
      expect(parsed(checked)).toMatchObject({ ok: true, roles: 4 });
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('pim: unknown command "bogus"');
    },
    SLOW,
  );
});
