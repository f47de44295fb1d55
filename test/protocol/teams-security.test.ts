import { afterAll, beforeAll, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { listForPrincipal } from "../../src/db/repos/activations.js";
import { principalByKey } from "../../src/db/repos/directory.js";
import { teamsConversationById } from "../../src/db/repos/teams-conversations.js";
import { describeChat } from "../support/databases.js";
import type { StoredActivity } from "../support/teams/connector.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { answeredCard, type TeamsDriver, teamsScenarioWorld } from "../support/teams/teams-driver.js";
import type { TeamsUser } from "../support/teams/teams-sender.js";
import { startTeamsWorld, type TeamsWorld, teamsUser } from "../support/teams/teams-world.js";

/** What is defended at the Teams door: clicks by the wrong person, whatever the card says. */
describeChat("Teams: refused clicks", (driver) => {
  let w: TeamsWorld;
  let d: TeamsDriver;
  let requestId: string;

  beforeAll(async () => {
    w = await startTeamsWorld(driver);
    d = teamsScenarioWorld(w).driver as TeamsDriver;
    expect(
      await d.request("alice", { roles: ["db-admin"], duration: "1h", justification: "Fix", ticket: "INC-123456" }),
    ).toEqual({});
    requestId = (await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["pending_approval"]))[0]!.requestId;
  });
  afterAll(async () => {
    expect(w.connector.violations).toEqual([]);
    await w.dispose();
  });

  /** `user` sends the click Teams would send for `card`'s button, from their own chat. */
  async function replay(user: string, card: StoredActivity, label: string) {
    const where = w.teams.personal(teamsUser(user));
    const sent = await d.clickButton(teamsUser(user), where, card, cardOf(card.activity)!, label);
    expect(sent.status).toBe(200);
    return readCard(answeredCard(sent));
  }

  it("refuses an Approve click from someone who is not an approver, audits it and alerts the channel", async () => {
    const answer = await replay("frank", (await w.card("bob", "approver", requestId))!, "Approve");
    expect(answer.text).toContain("You are not an approver for this request.");
    const refused = await queryAudit(w.deps.db, { event: "approval.refused", requestId });
    expect(refused.map((r) => [r.actor, r.data.code])).toContainEqual(["frank", "NOT_AN_APPROVER"]);
    await w.settle();
    const alerts = w.connector
      .inConversation("19:pim-alerts@thread.tacv2")
      .map((m) => readCard(cardOf(m.activity)!).text);
    expect(alerts.join("\n")).toContain("Alert: Unauthorized approval attempt");
    expect(alerts.join("\n")).toContain("frank tried to decide a request they may not decide");
    expect(await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["pending_approval"])).toHaveLength(1);
  });

  it("refuses the requester approving their own request, whatever the button says", async () => {
    const answer = await replay("alice", (await w.card("bob", "approver", requestId))!, "Approve");
    expect(answer.text).toContain("You cannot approve or deny your own request.");
    const refused = await queryAudit(w.deps.db, { event: "approval.refused", requestId });
    expect(refused.map((r) => [r.actor, r.data.code])).toContainEqual(["alice", "SELF_APPROVAL"]);
  });

  it("refuses someone Teams knows but PIM does not, politely, and audits the attempt", async () => {
    const answer = await replay("stranger", (await w.card("bob", "approver", requestId))!, "Approve");
    expect(answer.text).toContain("I don't know who you are in PIM yet");
    const unknown = await queryAudit(w.deps.db, { event: "chat.identity_unknown" });
    expect(unknown.map((r) => [r.actor, r.data.attempted])).toContainEqual([
      "teams:99999999-9999-4999-8999-999999999999",
      "pim.approve",
    ]);
    expect((await queryAudit(w.deps.db, { event: "approval.approve", requestId })).length).toBe(0);
  });

  it("takes the clicker from the activity, not from a name the sender put in it", async () => {
    const bobsCard = (await w.card("bob", "approver", requestId))!;
    const frank = teamsUser("frank");
    // Frank's client sends Bob's display name: identity is the Entra id and member list, never the name.
    const sent = await w.teams.click(
      { ...frank, name: "Bob Brown" },
      w.teams.personal(frank),
      bobsCard.id,
      "pim.approve",
      {
        value: requestId,
        view: "tracked",
      },
    );
    expect(readCard(answeredCard(sent)).text).toContain("You are not an approver for this request.");
  });

  /** Someone the member list knows, under an Entra id pim.yaml does not name. */
  function member(key: string, email: string): TeamsUser {
    const user = {
      key,
      id: `29:${key}`,
      name: key,
      aadObjectId: `${key.padEnd(8, "0").slice(0, 8)}-0000-4000-8000-000000000000`,
    };
    w.connector.addMember({ ...user, email, userPrincipalName: email });
    return user;
  }

  const repliesTo = (user: TeamsUser) => w.connector.inConversation(w.teams.personal(user).conversationId);

  it("refuses an activity from another tenant before any lookup: no answer, no stored chat, audited", async () => {
    const bob = teamsUser("bob");
    const where = { conversationId: "a:dm-from-another-tenant", kind: "personal" as const };
    await w.settle();
    const calls = w.connector.calls.length;
    const foreign = w.teams.activity(bob, where, { type: "message", text: "status", textFormat: "plain" });
    const sent = await w.teams.post({
      ...foreign,
      conversation: { ...(foreign.conversation as object), tenantId: "evil-tenant" },
      channelData: { tenant: { id: "evil-tenant" } },
    });
    expect(sent.status).toBeLessThan(300);
    await w.settle();
    expect(w.connector.calls.slice(calls)).toEqual([]);
    expect(await teamsConversationById(w.deps.db, where.conversationId)).toBeNull();
    const refused = await queryAudit(w.deps.db, { event: "chat.sender_refused" });
    expect(refused.map((r) => [r.actor, r.data.code, r.data.tenantId])).toContainEqual([
      `teams:${bob.aadObjectId}`,
      "TENANT_NOT_SERVED",
      "evil-tenant",
    ]);
  });

  it("refuses an activity that does not come from Teams, whatever it says about the tenant", async () => {
    const alice = teamsUser("alice");
    await w.settle();
    const calls = w.connector.calls.length;
    const activity = w.teams.activity(alice, w.teams.personal(alice), { type: "message", text: "status" });
    await w.teams.post({ ...activity, channelId: "webchat" });
    await w.settle();
    expect(w.connector.calls.slice(calls)).toEqual([]);
    const refused = await queryAudit(w.deps.db, { event: "chat.sender_refused" });
    expect(refused.map((r) => [r.data.code, r.data.channelId])).toContainEqual(["CHANNEL_NOT_SERVED", "webchat"]);
  });

  it("does not take another Entra account for Alice because the member list says alice@, nor keep its chat", async () => {
    const mallory = member("mallory", "alice@example.com");
    await w.teams.message(mallory, "status");
    await w.settle();
    expect(
      repliesTo(mallory)
        .map((m) => readCard(cardOf(m.activity)!).text)
        .join("\n"),
    ).toContain("I don't know who you are in PIM yet");
    expect((await principalByKey(w.deps.db, "alice"))?.teamsId).toBe(teamsUser("alice").aadObjectId);
    expect(await teamsConversationById(w.deps.db, w.teams.personal(mallory).conversationId)).toBeNull();
  });

  it("links a member-list e-mail only to someone with no Teams id yet, once, audited", async () => {
    // Frank is in pim.yaml by e-mail only: his first message links his Entra id.
    const frank = teamsUser("frank");
    await w.teams.message(frank, "status");
    await w.settle();
    expect((await principalByKey(w.deps.db, "frank"))?.teamsId).toBe(frank.aadObjectId);
    const linked = await queryAudit(w.deps.db, { event: "chat.identity_linked" });
    expect(linked.map((r) => [r.actor, r.subject])).toContainEqual([`teams:${frank.aadObjectId}`, "frank"]);
    // Another account with his address is then nobody.
    const other = member("frankie", "frank@example.com");
    await w.teams.message(other, "status");
    await w.settle();
    expect(
      repliesTo(other)
        .map((m) => readCard(cardOf(m.activity)!).text)
        .join("\n"),
    ).toContain("I don't know who you are in PIM yet");
    expect((await principalByKey(w.deps.db, "frank"))?.teamsId).toBe(frank.aadObjectId);
  });

  it("refuses ending someone else's activation with a forged button value", async () => {
    // Grace is in pim.yaml by email only: once she wrote to the bot, her chat is where her cards go.
    await w.teams.message(teamsUser("grace"), "status");
    const reader = await w.engine.role("reader");
    const granted = await requestActivation(w.deps, {
      requesterId: await w.engine.user("grace"),
      roles: [{ roleId: reader }],
      durationMs: 3_600_000,
      justification: "Read the logs",
      origin: "api",
    });
    if (!granted.ok) throw new Error(granted.error.message);
    await w.runJobs();
    const gracesCard = (await w.card("grace", "requester", granted.value.requestId))!;
    const answer = await replay("bob", gracesCard, "End now");
    expect(answer.notices).toContain("You can only end your own activations.");
    expect(await teamsScenarioWorld(w).held("grace", "reader")).toBe(true);
  });
});
