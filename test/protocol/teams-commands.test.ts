import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseCommand } from "../../src/chat/teams/commands.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { teamsConversations } from "../../src/db/schema/teams-conversations.js";
import { describeChat } from "../support/databases.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { type TeamsDriver, teamsScenarioWorld } from "../support/teams/teams-driver.js";
import { TENANT_ID } from "../support/teams/teams-sender.js";
import { startTeamsWorld, type TeamsWorld, teamsUser } from "../support/teams/teams-world.js";

it("reads a command the way people type it: with or without the command word, a slash or an @mention", () => {
  expect(parseCommand("elevate status", "elevate")).toEqual({ sub: "status", args: "" });
  expect(parseCommand("/elevate end db-admin", "elevate")).toEqual({ sub: "end", args: "db-admin" });
  expect(parseCommand("<at>PIM</at> Status", "elevate")).toEqual({ sub: "status", args: "" });
  expect(parseCommand("  pending ", "elevate")).toEqual({ sub: "pending", args: "" });
  expect(parseCommand("Elevate", "elevate")).toEqual({ sub: "", args: "" });
});

describeChat("Teams: commands, installs and who is who", (driver) => {
  let w: TeamsWorld;
  let d: TeamsDriver;
  beforeAll(async () => {
    w = await startTeamsWorld(driver);
    d = teamsScenarioWorld(w).driver as TeamsDriver;
  });
  afterAll(async () => {
    expect(w.connector.violations).toEqual([]);
    await w.dispose();
  });

  /** Sends a message and returns the words of the bot's reply cards. */
  async function say(user: string, text: string, where = w.teams.personal(teamsUser(user))): Promise<string> {
    const conversation = where.conversationId.split(";")[0]!;
    const before = w.connector.inConversation(conversation).length;
    const sent = await w.teams.message(teamsUser(user), text, where);
    expect(sent.status).toBe(200);
    await w.settle();
    return w.connector
      .inConversation(conversation)
      .slice(before)
      .map((m) => readCard(cardOf(m.activity) ?? {}).text)
      .join("\n---\n");
  }

  it("stores the conversation when the app is installed, and says hello once", async () => {
    const sent = await w.teams.install(teamsUser("carol"));
    expect(sent.map((s) => s.status)).toEqual([200, 200]);
    const [row] = await w.deps.db
      .select()
      .from(teamsConversations)
      .where(eq(teamsConversations.aadObjectId, teamsUser("carol").aadObjectId));
    expect(row).toMatchObject({
      kind: "personal",
      userId: "29:carol",
      tenantId: TENANT_ID,
      serviceUrl: w.connector.serviceUrl,
      botId: "28:pim-bot-test",
      principalId: await w.engine.user("carol"),
    });
    const hello = w.connector.inConversation(row!.conversationId).map((m) => readCard(cardOf(m.activity)!).text);
    expect(hello).toHaveLength(1);
    expect(hello[0]).toContain("Hello! I give privileged roles for a while");
  });

  it("answers each subcommand with its card, and anything else with help", async () => {
    expect(await say("alice", "help")).toContain("elevate status — your active roles with time left");
    expect(await say("alice", "status")).toContain("You hold no privileged role and have no pending request.");
    const roles = await say("alice", "elevate roles");
    expect(roles).toContain("You are eligible for 5 roles");
    expect(roles).toContain("up to 4h · approval · ticket like INC-123456 · justification");
    expect(await say("bob", "pending")).toContain("Nothing is waiting for your decision.");
    expect(await say("alice", "end")).toBe("You have no active role to end.");
    expect(await say("alice", "extend reader")).toBe('You have no active role called "reader".');
    expect(await say("alice", "mfa setup")).toContain(
      "Open this page to enroll; the link is yours alone and works once.",
    );
    expect(await say("alice", "make me admin")).toContain('I don\'t know "make me admin". Here is what I can do:');
  });

  it("ends a role with `end <role>` and lists a request waiting for an approver under `pending`", async () => {
    expect(await d.request("alice", { roles: ["reader"], duration: "1h", justification: "Look at logs" })).toEqual({});
    await w.runJobs();
    expect(await say("alice", "status")).toContain("Reader at / — active until 10:00 UTC (1h left)");
    expect(await say("alice", "end reader")).toBe("Ending Reader now; it is being revoked.");
    await w.runJobs();
    expect(await teamsScenarioWorld(w).held("alice", "reader")).toBe(false);

    expect(await d.request("alice", { roles: ["deploy"], duration: "1h", justification: "Ship it" })).toEqual({});
    const pending = await say("dave", "pending");
    expect(pending).toContain("1 waiting for your decision");
    expect(pending).toContain("Alice Adams asks for Production Deployer at /mg/prod for 1h");
  });

  it("knows someone without an Entra id in pim.yaml by the address in the member list", async () => {
    expect(await say("grace", "status")).toContain("You hold no privileged role");
    expect((await queryAudit(w.deps.db, { event: "chat.identity_unknown" })).length).toBe(0);
  });

  it("tells someone Teams knows but PIM does not, politely, and audits what they tried", async () => {
    expect(await say("stranger", "elevate")).toContain("I don't know who you are in PIM yet");
    expect(await say("stranger", "status")).toContain("I don't know who you are in PIM yet");
    const unknown = await queryAudit(w.deps.db, { event: "chat.identity_unknown" });
    expect(unknown.map((r) => [r.actor, r.data.attempted, r.data.email])).toEqual([
      ["teams:99999999-9999-4999-8999-999999999999", "elevate", "stranger@elsewhere.example"],
      ["teams:99999999-9999-4999-8999-999999999999", "elevate status", "stranger@elsewhere.example"],
    ]);
  });

  it("reads a command in a channel with the bot @mentioned", async () => {
    const channel = { conversationId: "19:ops@thread.tacv2;messageid=171", kind: "channel" as const };
    expect(await say("alice", "<at>PIM</at> help", channel)).toContain(
      "elevate pending — requests waiting for your decision",
    );
    const [row] = await w.deps.db
      .select()
      .from(teamsConversations)
      .where(eq(teamsConversations.conversationId, "19:ops@thread.tacv2"));
    expect(row).toMatchObject({ kind: "channel", aadObjectId: null, principalId: null });
  });
});

describeChat("Teams: reaching approvers proactively", (driver) => {
  let w: TeamsWorld;
  let d: TeamsDriver;
  beforeAll(async () => {
    w = await startTeamsWorld(driver);
    d = teamsScenarioWorld(w).driver as TeamsDriver;
  });
  afterAll(async () => {
    expect(w.connector.violations).toEqual([]);
    await w.dispose();
  });

  it("opens a 1:1 chat from the Entra object id to reach an approver who never wrote to the bot", async () => {
    await w.teams.install(teamsUser("carol"));
    expect(
      await d.request("alice", { roles: ["db-admin"], duration: "1h", justification: "Fix", ticket: "INC-123456" }),
    ).toEqual({});
    const bob = teamsUser("bob");
    const created = w.connector.created.find((c) => c.memberId === bob.aadObjectId);
    expect(created).toEqual({
      conversationId: `a:dm-${bob.aadObjectId}`,
      memberId: bob.aadObjectId,
      tenantId: TENANT_ID,
    });
    const bobsCard = await w.card("bob", "approver");
    expect(bobsCard?.conversationId).toBe(created!.conversationId);
    // Carol installed the app: her stored chat is used, none is created.
    expect(w.connector.created.some((c) => c.memberId === teamsUser("carol").aadObjectId)).toBe(false);
    expect((await w.card("carol", "approver"))?.conversationId).toBe(`a:dm-${teamsUser("carol").aadObjectId}`);
    // A card about to be refreshed names the approver's Teams id once it is known.
    expect((cardOf((await w.card("carol", "approver"))!.activity)!.refresh as { userIds: string[] }).userIds).toEqual([
      "29:carol",
    ]);
  });
});
