/**
 * The embedded database is the default store, so a bot process killed outright (kill -9, the OOM
 * killer, a pulled container) must lose nothing it acknowledged: the bot runs as its own process
 * on PGlite, people use it over Teams' HTTP endpoint, it is killed with SIGKILL right after its
 * last answer, and the files are then read back by a fresh process.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import { openDatabase } from "../../src/db/client.js";
import { activations } from "../../src/db/schema/activations.js";
import { principals } from "../../src/db/schema/principals.js";
import { type BotProcess, ROOT, startBot } from "./bot-process.js";
import { selfServicePolicy, TeamsClient, teamsPerson } from "./teams-people.js";

const run = promisify(execFile);
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function botOn(dir: string): Promise<BotProcess> {
  const bot = await startBot("tsx-loader", {
    PGLITE_DIR: join(dir, "data"),
    PIM_CONFIG: join(dir, "pim.yaml"),
    TEAMS_AUTH: "off",
    LOG_FORMAT: "json",
  });
  cleanup.push(() => bot.kill());
  return bot;
}

async function statusesIn(dir: string): Promise<Record<string, string[]>> {
  const handle = await openDatabase({ driver: "pglite", dataDir: join(dir, "data") });
  try {
    const rows = await handle.db
      .select({ who: principals.key, status: activations.status })
      .from(activations)
      .innerJoin(principals, eq(principals.id, activations.principalId));
    const byPerson: Record<string, string[]> = {};
    for (const r of rows) byPerson[r.who] = [...(byPerson[r.who] ?? []), r.status];
    return byPerson;
  } finally {
    await handle.close();
  }
}

it("keeps every activation it acknowledged across a kill -9 of the bot process", { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "pim-kill-"));
  writeFileSync(join(dir, "pim.yaml"), selfServicePolicy(7));
  const bot = await botOn(dir);
  const teams = await TeamsClient.start(bot.baseUrl);
  cleanup.push(() => teams.stop());

  // u0–u2: granted, ended with "End now" and revoked; u3–u5: granted and still held; u6: asked,
  // and the process is killed the moment the bot has answered, before anything else is written.
  for (const i of [0, 1, 2]) await teams.lifecycle(teamsPerson(i), "ops");
  for (const i of [3, 4, 5]) {
    const { requestCard } = await teams.request(teamsPerson(i), "ops");
    await teams.untilActive(teamsPerson(i), requestCard);
  }
  const last = await teams.request(teamsPerson(6), "ops");
  expect(last.answer.alerts).toEqual([]);
  await bot.kill();
  expect(bot.child.signalCode).toBe("SIGKILL");

  const after = await statusesIn(dir);
  for (const who of ["u0", "u1", "u2"]) expect(after[who]).toEqual(["ended"]);
  for (const who of ["u3", "u4", "u5"]) expect(after[who]).toEqual(["active"]);
  expect(after.u6).toHaveLength(1);
  expect(["activating", "active"]).toContain(after.u6![0]);

  const verified = await run(process.execPath, ["--import", "tsx", "src/cli.ts", "audit", "verify"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PGLITE_DIR: join(dir, "data") },
  });
  expect(verified.stdout).toMatch(/intact/);

  // The bot starts again on the same files, and what it held is still held.
  const again = await botOn(dir);
  await again.waitFor(/pim-bot is running/);
  expect(await again.stop()).toBe(0);
  const restarted = await statusesIn(dir);
  for (const who of ["u3", "u4", "u5"]) expect(restarted[who]).toEqual(["active"]);
  expect(Object.keys(restarted).sort()).toEqual(["u0", "u1", "u2", "u3", "u4", "u5", "u6"]);
});
