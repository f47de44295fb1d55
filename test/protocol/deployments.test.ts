/**
 * What a deployment with one platform gets is what a deployment with the other gets: each case is
 * run on a Slack-only and on a Teams-only bot built by compose(), as main.ts builds it.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { listForPrincipal } from "../../src/db/repos/activations.js";
import { describeEachDatabase } from "../support/databases.js";
import { type SlackDriver, slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, startSlackWorld } from "../support/slack/slack-world.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { type TeamsDriver, teamsScenarioWorld } from "../support/teams/teams-driver.js";
import { startTeamsWorld, type TeamsWorld, teamsUser } from "../support/teams/teams-world.js";
import type { CardView, ChatDriver, ScenarioWorld } from "./scenarios.js";

const FIXTURE = "deployments.yaml";

interface Deployment {
  world: SlackWorld | TeamsWorld;
  scenario: ScenarioWorld;
  d: ChatDriver;
  /** The last thing only this person was shown in their private chat with the bot. */
  lastShown(user: string): Promise<CardView | undefined>;
  /** Says something to the bot in a team channel (Teams) or runs the command (Slack). */
  dispose(): Promise<void>;
}

async function slackOnly(driver: Parameters<typeof startSlackWorld>[0]): Promise<Deployment> {
  const world = await startSlackWorld(driver, { fixture: FIXTURE });
  const scenario = slackScenarioWorld(world);
  const d = scenario.driver as SlackDriver;
  return {
    world,
    scenario,
    d,
    async lastShown(user) {
      await world.settle();
      const id = { alice: "U0ALICE", bob: "U0BOB", carol: "U0CAROL", glass: "U0GLASS" }[user]!;
      const last = world.api.ephemeralsFor(id).at(-1);
      return last ? d.snapshot(last) : undefined;
    },
    async dispose() {
      expect(world.api.violations).toEqual([]);
      await world.dispose();
    },
  };
}

async function teamsOnly(driver: Parameters<typeof startTeamsWorld>[0]): Promise<Deployment> {
  const world = await startTeamsWorld(driver, { fixture: FIXTURE });
  const scenario = teamsScenarioWorld(world);
  const d = scenario.driver as TeamsDriver;
  return {
    world,
    scenario,
    d,
    async lastShown(user) {
      await world.settle();
      const chat = world.teams.personal(teamsUser(user)).conversationId;
      const last = world.connector.inConversation(chat).at(-1);
      const card = last ? cardOf(last.activity) : undefined;
      if (!card) return undefined;
      const read = readCard(card);
      return { text: read.text, buttons: read.buttons.map((b) => b.label) };
    },
    async dispose() {
      expect(world.connector.violations).toEqual([]);
      await world.dispose();
    },
  };
}

const DEPLOYMENTS = { "Slack only": slackOnly, "Teams only": teamsOnly };

for (const [name, deploy] of Object.entries(DEPLOYMENTS)) {
  describeEachDatabase(`One front door: ${name}`, (driver) => {
    let x: Deployment;
    beforeEach(async () => {
      x = await deploy(driver);
      // Everyone has written to the bot once, as people do before using it.
      if ("teams" in x.world && "connector" in x.world)
        for (const user of ["alice", "bob", "carol", "dave", "glass"])
          await x.world.teams.message(teamsUser(user), "help");
    });
    afterEach(async () => {
      await x.dispose();
    });

    it("gives the requester a step-up link on their card when the role requires MFA", async () => {
      expect(
        await x.d.request("alice", { roles: ["global-admin"], duration: "1h", justification: "Rotate the keys" }),
      ).toEqual({});
      const card = await x.d.card("alice", "requester");
      expect(card!.text).toContain("Complete MFA to continue");
      expect(card!.text).not.toContain("No step-up link could be made");
      expect(card!.buttons).toContain("Complete MFA");
    });

    it("sends an approver the step-up link when approving needs their MFA too", async () => {
      expect(
        await x.d.request("alice", { roles: ["prod-owner"], duration: "1h", justification: "Release day" }),
      ).toEqual({});
      await x.d.approve("bob");
      const shown = await x.lastShown("bob");
      expect(shown!.text).toContain("Confirm with MFA to approve");
      expect(shown!.buttons).toEqual(["Confirm and approve"]);
      const requestId = (
        await listForPrincipal(x.world.deps.db, await x.world.engine.user("alice"), ["pending_approval"])
      ).at(-1)!.requestId;
      const waiting = await queryAudit(x.world.deps.db, { event: "approval.step_up_required", requestId });
      expect(waiting.map((e) => e.actor)).toEqual(["bob"]);
    });

    it("offers a break-glass account every role, and grants it", async () => {
      expect(
        await x.d.request("glass", {
          roles: ["db-admin"],
          duration: "1h",
          justification: "Identity provider is down",
          ticket: "INC-999999",
        }),
      ).toEqual({});
      await x.scenario.runJobs();
      expect(await x.scenario.held("glass", "db-admin")).toBe(true);
    });

    it("takes an optional comment with Approve and keeps it in the audit log", async () => {
      expect(
        await x.d.request("alice", {
          roles: ["db-admin"],
          duration: "1h",
          justification: "Fix the index",
          ticket: "INC-123456",
        }),
      ).toEqual({});
      await x.d.approve("bob", { comment: "Checked with the on-call lead" });
      const approved = await queryAudit(x.world.deps.db, { event: "approval.approve" });
      expect(approved.map((e) => [e.actor, e.data.comment])).toEqual([["bob", "Checked with the on-call lead"]]);
      await x.scenario.runJobs();
      expect(await x.scenario.held("alice", "db-admin")).toBe(true);
    });

    it("redraws the other approvers' cards after a decision made on the MFA page, short of the count", async () => {
      expect(
        await x.d.request("alice", { roles: ["prod-owner"], duration: "1h", justification: "Release day" }),
      ).toEqual({});
      const before = await x.d.card("carol", "approver");
      expect(before!.text).not.toContain("Approved by Bob Brown");
      const requestId = (
        await listForPrincipal(x.world.deps.db, await x.world.engine.user("alice"), ["pending_approval"])
      ).at(-1)!.requestId;
      // What the MFA page does once Bob passed his step-up: decide with the evidence, nothing else.
      const decided = await decide(x.world.deps, {
        requestId,
        approverId: await x.world.engine.user("bob"),
        decision: "approve",
        stepUp: { method: "totp" },
      });
      expect(decided.ok && decided.value.decided).toBe(false);
      const after = await x.d.card("carol", "approver");
      expect(after!.text).toContain("Approved by Bob Brown");
      expect(after!.buttons).toEqual(["Approve", "Deny"]);
    });
  });
}

describeEachDatabase("One front door: a Teams channel or group chat", (driver) => {
  let w: TeamsWorld;
  beforeEach(async () => {
    w = await startTeamsWorld(driver, { fixture: FIXTURE });
  });
  afterEach(async () => {
    expect(w.connector.violations).toEqual([]);
    await w.dispose();
  });

  const shared = {
    channel: { conversationId: "19:ops@thread.tacv2;messageid=171", kind: "channel" as const },
    "group chat": { conversationId: "19:group-chat@thread.v2", kind: "groupChat" as const },
  };

  for (const [where, conversation] of Object.entries(shared)) {
    it(`answers only help in a ${where}, and asks the person to write to the bot directly`, async () => {
      const base = conversation.conversationId.split(";")[0]!;
      for (const text of ["status", "pending", "mfa setup", "roles", "", "end reader"]) {
        const before = w.connector.inConversation(base).length;
        const sent = await w.teams.message(teamsUser("alice"), `<at>PIM</at> ${text}`, conversation);
        expect(sent.status).toBe(200);
        await w.settle();
        const replies = w.connector
          .inConversation(base)
          .slice(before)
          .map((m) => readCard(cardOf(m.activity)!));
        expect(replies).toHaveLength(1);
        expect(replies[0]!.text).toContain("write to me directly");
        expect(replies[0]!.text).not.toContain("You hold no privileged role");
        expect(replies[0]!.buttons).toEqual([]);
      }
      const help = await w.teams.message(teamsUser("alice"), "<at>PIM</at> help", conversation);
      expect(help.status).toBe(200);
      await w.settle();
      const last = readCard(cardOf(w.connector.inConversation(base).at(-1)!.activity)!);
      expect(last.text).toContain("elevate status");
      expect(last.text).not.toContain("write to me directly");
    });
  }
});
