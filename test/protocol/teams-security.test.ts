import { afterAll, beforeAll, expect, it } from "vitest";
import { requestActivation } from "../../src/app/request-activation.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { listForPrincipal } from "../../src/db/repos/activations.js";
import { describeEachDatabase } from "../support/databases.js";
import type { StoredActivity } from "../support/teams/connector.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { answeredCard, type TeamsDriver, teamsScenarioWorld } from "../support/teams/teams-driver.js";
import { startTeamsWorld, type TeamsWorld, teamsUser } from "../support/teams/teams-world.js";

/** What is defended at the Teams door: clicks by the wrong person, whatever the card says. */
describeEachDatabase("Teams: refused clicks", (driver) => {
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
