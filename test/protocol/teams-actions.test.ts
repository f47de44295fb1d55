import { afterEach, beforeEach, expect, it } from "vitest";
import { listForPrincipal } from "../../src/db/repos/activations.js";
import { describeChat } from "../support/databases.js";
import type { StoredActivity } from "../support/teams/connector.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { answeredCard, type TeamsDriver, teamsScenarioWorld } from "../support/teams/teams-driver.js";
import { startTeamsWorld, type TeamsWorld, teamsUser } from "../support/teams/teams-world.js";

type Json = Record<string, unknown>;

/** Universal Actions: each click is answered with the card as it now is, and every copy follows. */
describeChat("Teams: cards that act and stay true", (driver) => {
  let w: TeamsWorld;
  let d: TeamsDriver;
  beforeEach(async () => {
    w = await startTeamsWorld(driver);
    d = teamsScenarioWorld(w).driver as TeamsDriver;
    expect(
      await d.request("alice", { roles: ["db-admin"], duration: "1h", justification: "Fix", ticket: "INC-123456" }),
    ).toEqual({});
  });
  afterEach(async () => {
    expect(w.connector.violations).toEqual([]);
    await w.dispose();
  });

  const dm = (m: StoredActivity) => ({ conversationId: m.conversationId, kind: "personal" as const });
  const words = (m: StoredActivity | undefined) => readCard(cardOf(m!.activity)!).text;

  async function click(user: string, m: StoredActivity, label: string, typed: Json = {}, version?: Json) {
    const card = cardOf(version ?? m.activity)!;
    return d.clickButton(teamsUser(user), dm(m), m, card, label, typed);
  }

  it("answers Approve with the decided card in the invoke response, and redraws every other copy in place", async () => {
    const bobs = (await w.card("bob", "approver"))!;
    const carols = (await w.card("carol", "approver"))!;
    const sent = await click("bob", bobs, "Approve");
    expect(sent.status).toBe(200);
    expect(sent.json?.statusCode).toBe(200);
    const answer = readCard(answeredCard(sent));
    expect(answer.text).toContain("Approved by Bob Brown at 09:00 UTC");
    expect(answer.buttons).toEqual([]);
    for (const m of [bobs, carols, (await w.card("dave", "approver"))!]) {
      expect(m.versions.length).toBeGreaterThan(1);
      expect(words(m)).toContain("Approved by Bob Brown at 09:00 UTC");
      expect(readCard(cardOf(m.activity)!).buttons).toEqual([]);
    }
    const updates = w.connector.calls.filter((c) => c.method === "PUT").map((c) => decodeURIComponent(c.path));
    expect(updates).toContain(`/v3/conversations/${carols.conversationId}/activities/${carols.id}`);
    await w.runJobs();
    expect(words(await w.card("alice", "requester"))).toContain("Active until 10:00 UTC");
  });

  it("gives a late click on a stale card the decided card back, not an error, and changes nothing", async () => {
    const carols = (await w.card("carol", "approver"))!;
    await click("bob", (await w.card("bob", "approver"))!, "Approve");
    const late = await click("carol", carols, "Approve", {}, carols.versions[0]);
    expect(late.status).toBe(200);
    const answer = readCard(answeredCard(late));
    expect(answer.notices).toEqual(["Already approved by Bob Brown at 09:00 UTC. Nothing was changed."]);
    expect(answer.text).toContain("Approved by Bob Brown at 09:00 UTC");
    expect(answer.buttons).toEqual([]);
    const decisions = await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["activating"]);
    expect(decisions).toHaveLength(1);
  });

  it("redraws a card when Teams asks for a refresh, for the person looking at it", async () => {
    const bobs = (await w.card("bob", "approver"))!;
    const first = bobs.versions[0]!;
    const refresh = (cardOf(first)!.refresh as { action: Json }).action;
    expect(refresh).toMatchObject({ type: "Action.Execute", verb: "pim.refresh" });
    await click("carol", (await w.card("carol", "approver"))!, "Approve");
    const sent = await w.teams.click(teamsUser("bob"), dm(bobs), bobs.id, String(refresh.verb), refresh.data as Json);
    const answer = readCard(answeredCard(sent));
    expect(answer.text).toContain("Approved by Carol Chen at 09:00 UTC");
    expect(answer.buttons).toEqual([]);
  });

  it("needs a comment to deny, says so on the card, and keeps the request waiting", async () => {
    const bobs = (await w.card("bob", "approver"))!;
    const answer = readCard(answeredCard(await click("bob", bobs, "Deny")));
    expect(answer.notices).toEqual(["Say why you deny it in the comment box; the requester reads it."]);
    expect(answer.buttons.map((b) => b.label)).toEqual(["Approve", "Deny"]);
    expect(await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["pending_approval"])).toHaveLength(1);
  });

  it("denies from the pending list with the comment typed next to that request", async () => {
    await w.teams.message(teamsUser("dave"), "pending");
    await w.settle();
    const list = w.connector.inConversation(w.teams.personal(teamsUser("dave")).conversationId).at(-1)!;
    const card = cardOf(list.activity)!;
    const box = readCard(card).inputs.find((i) => i.id.startsWith("comment."))!;
    const answer = readCard(answeredCard(await click("dave", list, "Deny", { [box.id]: "Not during the freeze" })));
    expect(answer.text).toContain("Nothing is waiting for your decision.");
    expect(words(w.connector.message(list.conversationId, list.id))).toContain("Nothing is waiting for your decision.");
    expect(words(await w.card("alice", "requester"))).toContain("Not during the freeze");
  });

  it("cancels a request from the requester's card; every approver's card says so", async () => {
    const alices = (await w.card("alice", "requester"))!;
    const answer = readCard(answeredCard(await click("alice", alices, "Cancel request")));
    expect(answer.notices).toEqual(["Request canceled."]);
    expect(answer.text).toContain("You canceled this request.");
    expect(words(await w.card("bob", "approver"))).toContain("The requester canceled this request.");
  });
});
