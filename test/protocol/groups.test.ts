/**
 * PIM for Groups from chat, on Slack and on Teams alike: a person asks for membership of a
 * privileged group with the request form, an owner approves it with the card's button, the person
 * is told it is active (and holds the group's roles), then ends it with End now.
 */
import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ACTIONS, FORMS } from "../../src/chat/views/action-ids.js";
import { listForPrincipal } from "../../src/db/repos/activations.js";
import { logHoldings } from "../../src/db/schema/connector-log.js";
import { describeChat } from "../support/databases.js";
import { handsFor } from "../support/hands.js";
import { eventually } from "../support/harness.js";
import { readBlocks } from "../support/slack/read-message.js";
import type { StoredMessage } from "../support/slack/slack-api.js";
import { slackIdOf } from "../support/slack/slack-world.js";
import type { StoredActivity } from "../support/teams/connector.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { teamsUser } from "../support/teams/teams-world.js";
import { type Platform, startWorld, type World } from "../support/world.js";

const MEMBER = "group:oncall:member";

for (const platform of ["slack", "teams"] as Platform[]) {
  describeChat(`${platform}: membership of a privileged group`, (driver) => {
    let w: World;
    beforeEach(async () => {
      w = await startWorld(driver, { platforms: [platform], fixture: "groups.yaml" });
      await w.runJobs();
    });
    afterEach(async () => {
      if (w.slackApi) expect(w.slackApi.violations).toEqual([]);
      if (w.connector) expect(w.connector.violations).toEqual([]);
      await w.dispose();
    });

    /** The words and button labels of a message, whichever platform drew it. */
    function words(message: StoredMessage | StoredActivity | undefined): { text: string; buttons: string[] } {
      if (!message) return { text: "", buttons: [] };
      if (platform === "slack") {
        const read = readBlocks((message as StoredMessage).blocks, (id) => w.slackApi!.userName(id));
        return { text: read.text, buttons: read.buttons.map((b) => b.label) };
      }
      const read = readCard(cardOf((message as StoredActivity).activity) ?? {});
      return { text: read.text, buttons: read.buttons.map((b) => b.label) };
    }

    /** The label and options of the roles picker in the request form a person has open. */
    function rolesPicker(user: string): { label: string; options: string[] } | undefined {
      if (platform === "slack") {
        const id = { alice: "U0ALICE" }[user]!;
        const view = [...w.slackApi!.views.values()].filter((v) => v.user === id).at(-1)?.view;
        type Option = { text: { text: string } };
        type Block = { block_id?: string; label: { text: string }; element: { options?: Option[] } };
        const block = ((view?.blocks as Block[] | undefined) ?? []).find((b) => b.block_id === "roles");
        if (!block) return undefined;
        return { label: block.label.text, options: (block.element.options ?? []).map((o) => o.text.text) };
      }
      const chat = w.teams!.personal(teamsUser(user)).conversationId;
      for (const m of [...w.connector!.inConversation(chat)].reverse()) {
        const input = readCard(cardOf(m.activity) ?? {}).inputs.find((i) => i.id === "roles");
        if (input) return { label: input.label, options: input.choices.map((c) => c.title) };
      }
      return undefined;
    }

    /** Types a subcommand; returns the words of what only the typist was shown back. */
    async function typed(user: string, text: string): Promise<string> {
      if (platform === "slack") {
        const api = w.slackApi!;
        const id = slackIdOf(user);
        const before = api.ephemeralsFor(id).length;
        const sent = await w.slack!.command(id, text);
        expect(sent.status).toBe(200);
        await w.settle();
        const reply = api.ephemeralsFor(id).slice(before).at(-1);
        if (reply) return readBlocks(reply.blocks, (u) => api.userName(u)).text || reply.text;
        const answer = sent.json as { blocks?: Record<string, unknown>[]; text?: string } | undefined;
        return answer?.blocks ? readBlocks(answer.blocks, (u) => api.userName(u)).text : (answer?.text ?? "");
      }
      const chat = w.teams!.personal(teamsUser(user)).conversationId;
      const before = w.connector!.inConversation(chat).length;
      expect((await w.teams!.message(teamsUser(user), `elevate ${text}`)).status).toBe(200);
      await w.settle();
      const reply = w.connector!.inConversation(chat).slice(before).at(-1);
      return reply ? readCard(cardOf(reply.activity) ?? {}).text || String(reply.activity.text ?? "") : "";
    }

    async function holds(login: string, role: string): Promise<boolean> {
      const rows = await w.deps.db
        .select()
        .from(logHoldings)
        .where(and(eq(logHoldings.login, login), eq(logHoldings.role, role)));
      return rows.length > 0;
    }

    it("request membership, an owner approves, told active, end it", async () => {
      const hands = handsFor(w, platform);
      const alice = await w.principalId("alice");

      await hands.type("alice", "");
      // The form offers the group's membership next to roles, under "Roles and groups".
      const picker = await eventually(async () => rolesPicker("alice"), 5_000, "the request form");
      expect(picker.label).toBe("Roles and groups");
      expect(picker.options).toContain("Group membership: DBA on call");
      expect(picker.options).toContain("Reader");
      const errors = await hands.submit("alice", FORMS.request, {
        roles: [MEMBER],
        duration: "1h",
        justification: "Incident 7 on the primary",
      });
      expect(errors).toEqual({});
      const [asked] = await listForPrincipal(w.deps.db, alice, ["pending_approval"]);
      expect(asked).toBeDefined();

      // The owner, carol, is asked and approves; dave, no owner, is not asked.
      const card = await eventually(
        async () => w.message(platform, "carol", "approver", asked!.requestId),
        5_000,
        "carol's card",
      );
      expect(words(card).text).toContain("Group membership: DBA on call");
      expect(await w.message(platform, "dave", "approver", asked!.requestId)).toBeUndefined();
      await hands.click("carol", ACTIONS.approve, asked!.requestId);
      await w.runJobs();

      const [active] = await listForPrincipal(w.deps.db, alice, ["active"]);
      expect(active?.id).toBe(asked!.id);
      expect(await holds("alice", MEMBER)).toBe(true);
      expect(await holds("alice", "reader")).toBe(true);
      const told = words(await w.message(platform, "alice", "requester", asked!.requestId));
      expect(told.text).toContain("Group membership: DBA on call");
      expect(told.text).toContain("Active until 10:00 UTC: Group membership: DBA on call");
      expect(told.buttons).toContain("End now");

      // Status and the roles list show the membership, marked as a group's.
      expect(await typed("alice", "status")).toContain("Group membership: DBA on call");
      expect(await typed("alice", "roles")).toContain("Group membership: DBA on call");

      await hands.click("alice", ACTIONS.endNow, asked!.id);
      await w.runJobs();
      expect(await listForPrincipal(w.deps.db, alice, ["active"])).toEqual([]);
      expect(await holds("alice", MEMBER)).toBe(false);
      expect(await holds("alice", "reader")).toBe(false);
      const ended = words(await w.message(platform, "alice", "requester", asked!.requestId));
      expect(ended.text).toMatch(/ended/i);
    });
  });
}
