import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { queryAudit } from "../../src/db/audit-log.js";
import { mfaLockouts, mfaTokens } from "../../src/db/schema/mfa.js";
import { principals } from "../../src/db/schema/principals.js";
import { hashToken } from "../../src/mfa/tokens.js";
import { describeOnPostgres } from "../support/databases.js";
import { createEngine, type EngineHarness } from "../support/engine.js";

const root = new URL("../../", import.meta.url).pathname;
const run = promisify(execFile);
let e: EngineHarness;

/** `npm run pim -- …` on the test's own database (the embedded one takes minutes to create on a busy machine). */
async function pim(...args: string[]): Promise<{ code: number; out: string }> {
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    DATABASE_URL: e.handle.url!,
    PUBLIC_URL: "https://pim.example.com",
    PIM_CONFIG: "test/fixtures/mfa.yaml",
    LOG_LEVEL: "silent",
  };
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
      cwd: root,
      env,
    });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describeOnPostgres("pim mfa: an administrator's invitation and reset from the command line", () => {
  beforeEach(async () => {
    e = await createEngine("postgres", "mfa.yaml");
  });
  afterEach(() => e.dispose());

  it("invite prints a link that sets up a first factor; reset lifts a lockout and, with --factors, removes factors", async () => {
    const invited = await pim("mfa", "invite", "alice");
    expect(invited.code).toBe(0);
    const link = /https:\/\/pim\.example\.com\/mfa\/([A-Za-z0-9_-]{43})/.exec(invited.out);
    expect(link, invited.out).not.toBeNull();
    expect(invited.out).toContain("not through chat");

    // The link is an invitation for alice; lock her out to have something to reset.
    {
      const db = e.deps.db;
      const [token] = await db
        .select()
        .from(mfaTokens)
        .where(eq(mfaTokens.tokenHash, hashToken(link![1]!)));
      const [alice] = await db.select().from(principals).where(eq(principals.key, "alice"));
      expect(token).toMatchObject({ purpose: "invite", principalId: alice!.id });
      const now = new Date();
      await db
        .insert(mfaLockouts)
        .values({ id: "mfa_cli", principalId: alice!.id, lockedAt: now, until: new Date(now.getTime() + 3_600_000) });
    }

    const reset = await pim("mfa", "reset", "alice", "--factors");
    expect(reset.code).toBe(0);
    expect(reset.out).toContain("alice: lockout lifted");
    expect(reset.out).toContain("0 factors removed");

    {
      const db = e.deps.db;
      const [lockout] = await db.select().from(mfaLockouts).where(eq(mfaLockouts.id, "mfa_cli"));
      expect(lockout!.clearedAt).not.toBeNull();
      expect(lockout!.clearedBy).toMatch(/^cli:/);
      const events = (await queryAudit(db, { event: ["mfa.invited", "mfa.reset"] })).map((r) => [r.event, r.subject]);
      expect(events).toEqual([
        ["mfa.invited", "alice"],
        ["mfa.reset", "alice"],
      ]);
    }

    const unknown = await pim("mfa", "invite", "nobody");
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('There is no active user "nobody".');
    const wrong = await pim("mfa", "unlock");
    expect(wrong.code).toBe(2);
    expect(wrong.out).toContain('pim mfa: unknown subcommand "unlock"');
    expect(wrong.out).toContain("Usage: pim mfa invite <person>");
  }, 180_000);
});
