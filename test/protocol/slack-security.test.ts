import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { listForPrincipal } from "../../src/db/repos/activations.js";
import { principalByKey } from "../../src/db/repos/directory.js";
import { describeChat } from "../support/databases.js";
import { type SlackDriver, slackScenarioWorld } from "../support/slack/slack-driver.js";
import { findButton, SIGNING_SECRET, sign } from "../support/slack/slack-sender.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";

/** What is defended at the Slack door: forged, replayed and unauthorized requests. */
describeChat("Slack: refused requests", (driver) => {
  let w: SlackWorld;
  let d: SlackDriver;
  let requestId: string;

  beforeAll(async () => {
    w = await startSlackWorld(driver);
    d = slackScenarioWorld(w).driver as SlackDriver;
    expect(
      await d.request("alice", { roles: ["db-admin"], duration: "1h", justification: "Fix", ticket: "INC-123456" }),
    ).toEqual({});
    requestId = (await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["pending_approval"]))[0]!.requestId;
  });
  afterAll(() => w.dispose());
  beforeEach(() => {
    w.api.calls.length = 0;
  });

  const commandBody = () =>
    new URLSearchParams({
      command: "/elevate",
      text: "",
      user_id: "U0BOB",
      team_id: "T0PIM",
      channel_id: "D0BOB",
      response_url: w.api.responseUrl("U0BOB", "D0BOB"),
      trigger_id: w.api.mintTrigger("U0BOB"),
    }).toString();

  it("refuses a request signed with the wrong secret, and does nothing", async () => {
    const sent = await w.slack.raw(commandBody(), "application/x-www-form-urlencoded", { secret: "not-the-secret" });
    expect(sent.status).toBe(401);
    await w.settle();
    expect(w.api.callsOf("views.open")).toHaveLength(0);
  });

  it("refuses a correctly signed request whose timestamp is more than 5 minutes old (a replay)", async () => {
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
    const sent = await w.slack.raw(commandBody(), "application/x-www-form-urlencoded", { timestamp: sixMinutesAgo });
    expect(sent.status).toBe(401);
    const fresh = await w.slack.raw(commandBody(), "application/x-www-form-urlencoded");
    expect(fresh.status).toBe(200);
  });

  it("refuses a body changed after it was signed", async () => {
    const body = commandBody();
    const signed = sign(SIGNING_SECRET, Math.floor(Date.now() / 1000), body);
    const sent = await w.slack.raw(body.replace("U0BOB", "U0ERIN"), "application/x-www-form-urlencoded", {
      signature: signed,
    });
    expect(sent.status).toBe(401);
  });

  it("refuses an Approve click from someone who is not an approver, audits it and alerts the channel", async () => {
    const bobsCard = (await w.card("bob", "approver", requestId))!;
    // Frank replays Bob's button: the payload is genuine Slack, only the clicker is Frank.
    const sent = await w.slack.clickInMessage("U0FRANK", bobsCard, "pim.approve");
    expect(sent.status).toBe(200);
    await w.settle();
    expect((await d.notes("frank")).join("\n")).toContain("You are not an approver for this request.");
    const refused = await queryAudit(w.deps.db, { event: "approval.refused", requestId });
    expect(refused.map((r) => [r.actor, r.data.code])).toContainEqual(["frank", "NOT_AN_APPROVER"]);
    const alerts = w.api.messagesIn("C0ALERTS").map((m) => d.snapshot(m).text);
    expect(alerts.join("\n")).toContain("Alert: Unauthorized approval attempt");
    expect(alerts.join("\n")).toContain("frank tried to decide a request they may not decide");
    expect((await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["pending_approval"])).length).toBe(1);
  });

  it("refuses the requester approving their own request, whatever the button says", async () => {
    const bobsCard = (await w.card("bob", "approver", requestId))!;
    await w.slack.clickInMessage("U0ALICE", bobsCard, "pim.approve");
    await w.settle();
    expect((await d.notes("alice")).join("\n")).toContain("You cannot approve or deny your own request.");
    const refused = await queryAudit(w.deps.db, { event: "approval.refused", requestId });
    expect(refused.map((r) => [r.actor, r.data.code])).toContainEqual(["alice", "SELF_APPROVAL"]);
  });

  it("refuses someone Slack knows but PIM does not, politely, and audits the attempt", async () => {
    const bobsCard = (await w.card("bob", "approver", requestId))!;
    await w.slack.clickInMessage("U0STRANGE", bobsCard, "pim.approve");
    await w.slack.command("U0STRANGE", "status");
    await w.settle();
    const notes = (await d.notes("stranger")).join("\n");
    expect(notes).toContain("I don't know who you are in PIM yet");
    const unknown = await queryAudit(w.deps.db, { event: "chat.identity_unknown" });
    expect(unknown.map((r) => [r.actor, r.data.attempted])).toEqual(
      expect.arrayContaining([
        ["slack:U0STRANGE", "approve"],
        ["slack:U0STRANGE", "/elevate status"],
      ]),
    );
    expect((await queryAudit(w.deps.db, { event: "approval.approve", requestId })).length).toBe(0);
  });

  it("refuses ending someone else's activation with a forged button value", async () => {
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
    await w.slack.clickInMessage("U0BOB", gracesCard, "pim.end");
    await w.settle();
    expect((await d.notes("bob")).join("\n")).toContain("You can only end your own activations.");
    expect(await slackScenarioWorld(w).held("grace", "reader")).toBe(true);
    const refused = await queryAudit(w.deps.db, { event: "activation.refused" });
    expect(refused.map((r) => [r.actor, r.subject, r.data.action, r.data.code])).toEqual([
      ["bob", "grace", "end", "NOT_YOURS"],
    ]);
  });

  it("does not take someone with another Slack id for Alice because their e-mail says alice@", async () => {
    w.api.addUser({ id: "U0MALLORY", name: "Mallory", email: "alice@example.com" });
    await w.slack.command("U0MALLORY", "status");
    await w.settle();
    expect(
      w.api
        .ephemeralsFor("U0MALLORY")
        .map((e) => e.text)
        .join("\n"),
    ).toContain("I don't know who you are in PIM yet");
    expect((await principalByKey(w.deps.db, "alice"))?.slackId).toBe("U0ALICE");
    expect((await queryAudit(w.deps.db, { event: "chat.identity_unknown" })).map((r) => r.actor)).toContain(
      "slack:U0MALLORY",
    );
  });

  it("links an e-mail only when Slack confirms it, only to someone with no Slack id yet, and audits the link", async () => {
    // Grace is in pim.yaml by e-mail only. An account whose address Slack has not confirmed is not her.
    w.api.addUser({ id: "U0GRACE2", name: "Grace?", email: "grace@example.com", emailConfirmed: null });
    await w.slack.command("U0GRACE2", "status");
    await w.settle();
    expect(
      w.api
        .ephemeralsFor("U0GRACE2")
        .map((e) => e.text)
        .join("\n"),
    ).toContain("I don't know who you are in PIM yet");
    expect((await principalByKey(w.deps.db, "grace"))?.slackId).toBeNull();

    // Her own, confirmed account links her Slack id, once, audited.
    await w.slack.command("U0GRACE", "status");
    await w.settle();
    const grace = await principalByKey(w.deps.db, "grace");
    expect(grace?.slackId).toBe("U0GRACE");
    expect(grace?.slackLinkedAt).toBeInstanceOf(Date);
    const linked = await queryAudit(w.deps.db, { event: "chat.identity_linked" });
    expect(linked.map((r) => [r.actor, r.subject, r.data.email])).toEqual([
      ["slack:U0GRACE", "grace", "grace@example.com"],
    ]);

    // From then on her id alone is her: another account with her confirmed address is nobody.
    w.api.addUser({ id: "U0GRACE3", name: "Grace 3", email: "grace@example.com", emailConfirmed: true });
    await w.slack.command("U0GRACE3", "status");
    await w.settle();
    expect(
      w.api
        .ephemeralsFor("U0GRACE3")
        .map((e) => e.text)
        .join("\n"),
    ).toContain("I don't know who you are in PIM yet");
    expect(await queryAudit(w.deps.db, { event: "chat.identity_linked" })).toHaveLength(1);
  });

  it("refuses a slash command from another workspace before any lookup, and audits it", async () => {
    const body = new URLSearchParams({
      command: "/elevate",
      text: "status",
      user_id: "U0BOB",
      team_id: "T0ELSEWHERE",
      channel_id: "D0BOB",
      response_url: w.api.responseUrl("U0BOB", "D0BOB"),
      trigger_id: w.api.mintTrigger("U0BOB"),
    }).toString();
    const notesBefore = w.api.ephemeralsFor("U0BOB").length;
    const sent = await w.slack.raw(body, "application/x-www-form-urlencoded");
    expect(sent.status).toBe(200);
    await w.settle();
    expect(w.api.callsOf("users.info")).toHaveLength(0);
    expect(w.api.ephemeralsFor("U0BOB")).toHaveLength(notesBefore);
    const refused = await queryAudit(w.deps.db, { event: "chat.sender_refused" });
    expect(refused.map((r) => [r.actor, r.data.code, r.data.teams])).toContainEqual([
      "slack:U0BOB",
      "WORKSPACE_NOT_SERVED",
      ["T0ELSEWHERE"],
    ]);
  });

  it("refuses a Slack Connect click on an approvals card by someone of another workspace, whatever their id", async () => {
    const card = (await w.card("bob", "approver", requestId))!;
    const found = findButton(card.blocks, "pim.approve")!;
    // The message is in our workspace (team T0PIM); the clicker belongs to another one.
    await w.slack.interaction({
      type: "block_actions",
      user: { id: "U0BOB", username: "bob", name: "bob", team_id: "T0PARTNER" },
      api_app_id: "A0PIM",
      container: { type: "message", message_ts: card.ts, channel_id: card.channel, is_ephemeral: false },
      trigger_id: w.api.mintTrigger("U0BOB"),
      team: { id: "T0PIM", domain: "pim-test" },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: card.channel, name: "directmessage" },
      message: { type: "message", ts: card.ts, text: "", blocks: card.blocks },
      state: { values: {} },
      response_url: w.api.responseUrl("U0BOB", card.channel),
      actions: [
        {
          type: "button",
          action_id: found.button.action_id,
          value: found.button.value,
          block_id: found.blockId,
          action_ts: "1",
        },
      ],
    });
    await w.settle();
    expect(await queryAudit(w.deps.db, { event: "approval.approve", requestId })).toHaveLength(0);
    expect((await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["pending_approval"])).length).toBe(1);
    const refused = await queryAudit(w.deps.db, { event: "chat.sender_refused" });
    expect(refused.map((r) => [r.data.code, r.data.teams])).toContainEqual([
      "WORKSPACE_NOT_SERVED",
      ["T0PIM", "T0PARTNER"],
    ]);
  });

  it("sent every Block Kit payload within Slack's limits", () => {
    expect(w.api.violations).toEqual([]);
  });
});

/** Enterprise Grid: an organization on the allow-list serves every workspace of its own people. */
describeChat("Slack: Enterprise Grid allow-list", (driver) => {
  let w: SlackWorld;
  beforeAll(async () => {
    w = await startSlackWorld(driver, { env: { SLACK_ALLOWED_WORKSPACES: "E0GRID" } });
    w.api.addUser({ id: "U0BOB", name: "Bob Brown", email: "bob@example.com", enterpriseId: "E0GRID" });
    w.api.addUser({ id: "U0FOREIGN", name: "Fay Foreign", email: "bob@example.com", enterpriseId: "E0FOREIGN" });
  });
  afterAll(() => w.dispose());

  const gridCommand = (user: string, team: string, enterprise: string) =>
    new URLSearchParams({
      command: "/elevate",
      text: "status",
      user_id: user,
      team_id: team,
      enterprise_id: enterprise,
      channel_id: `D${user}`,
      response_url: w.api.responseUrl(user, `D${user}`),
      trigger_id: w.api.mintTrigger(user),
    }).toString();

  it("serves a person of an allowed organization from a workspace not on the list", async () => {
    const before = w.api.ephemeralsFor("U0BOB").length;
    const sent = await w.slack.raw(gridCommand("U0BOB", "T0GRIDSALES", "E0GRID"), "application/x-www-form-urlencoded");
    expect(sent.status).toBe(200);
    await w.settle();
    expect(w.api.ephemeralsFor("U0BOB").length).toBeGreaterThan(before);
    expect(await queryAudit(w.deps.db, { event: "chat.sender_refused" })).toHaveLength(0);
  });

  it("refuses a foreign organization before any lookup, and audits it", async () => {
    const before = w.api.ephemeralsFor("U0FOREIGN").length;
    const sent = await w.slack.raw(
      gridCommand("U0FOREIGN", "T0FOREIGN", "E0FOREIGN"),
      "application/x-www-form-urlencoded",
    );
    expect(sent.status).toBe(200);
    await w.settle();
    expect(w.api.ephemeralsFor("U0FOREIGN")).toHaveLength(before);
    expect(w.api.callsOf("users.info").filter((c) => c.args.user === "U0FOREIGN")).toHaveLength(0);
    const refused = await queryAudit(w.deps.db, { event: "chat.sender_refused" });
    expect(refused.map((r) => [r.actor, r.data.code, r.data.enterprises])).toEqual([
      ["slack:U0FOREIGN", "WORKSPACE_NOT_SERVED", ["E0FOREIGN"]],
    ]);
  });

  it("refuses someone of another organization in a workspace of ours (Slack Connect), whatever the payload's team", async () => {
    const sent = await w.slack.raw(
      gridCommand("U0FOREIGN", "T0GRIDSALES", "E0GRID"),
      "application/x-www-form-urlencoded",
    );
    expect(sent.status).toBe(200);
    await w.settle();
    const refused = await queryAudit(w.deps.db, { event: "chat.sender_refused" });
    expect(refused.map((r) => [r.actor, r.data.teams])).toContainEqual(["slack:U0FOREIGN", ["T0GRIDSALES"]]);
  });
});
