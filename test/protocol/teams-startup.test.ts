import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, StartupError, start } from "../../src/main.js";
import { freePort } from "../support/free-port.js";
import { BotConnectorStandIn } from "../support/teams/connector.js";
import { TeamsSender } from "../support/teams/teams-sender.js";
import { teamsUser } from "../support/teams/teams-world.js";

const POLICY = new URL("../fixtures/slack.yaml", import.meta.url).pathname;

/** How main.ts turns Teams on: the rule the README documents, through the real composition root. */
describe("Teams in the composition root", () => {
  const dirs: string[] = [];
  let connector: BotConnectorStandIn;
  beforeAll(async () => {
    connector = await new BotConnectorStandIn().start();
    connector.addMember({
      id: "29:alice",
      name: "Alice Adams",
      aadObjectId: teamsUser("alice").aadObjectId,
      email: null,
      userPrincipalName: null,
    });
  });
  afterAll(async () => {
    await connector.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function boot(env: Record<string, string>): Promise<Running> {
    const dir = await mkdtemp(join(tmpdir(), "pim-teams-start-"));
    dirs.push(dir);
    return start({
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      LOG_LEVEL: "silent",
      PGLITE_DIR: dir,
      PIM_CONFIG: POLICY,
      SWEEP_INTERVAL: "1h",
      ...env,
    });
  }

  const sender = (running: Running) => new TeamsSender(`http://127.0.0.1:${running.port}/api/messages`, connector);

  it("runs Teams without authentication only when TEAMS_AUTH=off says so", async () => {
    const running = await boot({ TEAMS_AUTH: "off" });
    try {
      const sent = await sender(running).message(teamsUser("alice"), "help");
      expect(sent.status).toBe(200);
      expect(connector.messages.some((m) => m.conversationId === `a:dm-${teamsUser("alice").aadObjectId}`)).toBe(true);
    } finally {
      await running.stop();
    }
  }, 60_000);

  it("leaves Teams off with neither MICROSOFT_APP_ID nor TEAMS_AUTH=off", async () => {
    const running = await boot({});
    try {
      expect((await sender(running).message(teamsUser("alice"), "help")).status).toBe(404);
    } finally {
      await running.stop();
    }
  }, 60_000);

  it("with MICROSOFT_APP_ID, refuses an activity that carries no token", async () => {
    const running = await boot({
      MICROSOFT_APP_ID: "6a3f9b2e-0c1d-4e5f-8a7b-9c0d1e2f3a4b",
      MICROSOFT_APP_PASSWORD: "s3cret",
      TEAMS_ALLOWED_TENANTS: "0d0e0f10-1112-4131-8415-161718191a1b",
    });
    try {
      const before = connector.calls.length;
      expect((await sender(running).message(teamsUser("alice"), "help")).status).toBe(401);
      expect(connector.calls.length).toBe(before);
    } finally {
      await running.stop();
    }
  }, 60_000);

  it("stops start-up with one line naming the setting when the Teams settings contradict or fall short", async () => {
    await expect(boot({ MICROSOFT_APP_ID: "6a3f9b2e-0c1d-4e5f-8a7b-9c0d1e2f3a4b", TEAMS_AUTH: "off" })).rejects.toThrow(
      new StartupError("TEAMS_AUTH: off cannot be combined with MICROSOFT_APP_ID; unset one of them"),
    );
    await expect(boot({ MICROSOFT_APP_ID: "6a3f9b2e-0c1d-4e5f-8a7b-9c0d1e2f3a4b" })).rejects.toThrow(
      "Bad configuration: MICROSOFT_APP_PASSWORD: required when MICROSOFT_APP_ID is set (the Azure Bot's client secret)",
    );
    await expect(boot({ TEAMS_AUTH: "off", HOST: "0.0.0.0" })).rejects.toThrow(
      "Bad configuration: TEAMS_AUTH: off is allowed only with HOST on loopback (127.0.0.1, ::1) and no DATABASE_URL",
    );
    await expect(boot({ TEAMS_AUTH: "maybe" })).rejects.toThrow(
      'TEAMS_AUTH: Invalid option: expected one of "on"|"off"',
    );
  }, 60_000);
});
