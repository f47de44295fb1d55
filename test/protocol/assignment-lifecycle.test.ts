import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../../src/app/admin/administrators.js";
import { assignRole } from "../../src/app/admin/assignments.js";
import { sendAssignmentReminders } from "../../src/app/admin/lifecycle.js";
import { endOnDay } from "../../src/chat/flows/assignments.js";
import { ACTIONS, FORMS } from "../../src/chat/views/action-ids.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getAssignment, getAssignmentRequest } from "../../src/db/repos/assignments.js";
import { DAY } from "../../src/domain/duration.js";
import { describeChat } from "../support/databases.js";
import { type Hands, handsFor } from "../support/hands.js";
import { readBlocks } from "../support/slack/read-message.js";
import type { StoredMessage } from "../support/slack/slack-api.js";
import { slackIdOf } from "../support/slack/slack-world.js";
import { cardOf, fieldErrors, readCard } from "../support/teams/read-card.js";
import { answeredCard } from "../support/teams/teams-driver.js";
import { teamsUser } from "../support/teams/teams-world.js";
import { type Platform, startWorld, type World } from "../support/world.js";

type Json = Record<string, unknown>;

describe("the day typed in the extension and renewal forms", () => {
  const proposed = new Date("2027-01-01T09:30:00.000Z");
  it("stands for that day at the proposed end's time of day", () => {
    expect(endOnDay("2027-01-01", proposed)).toEqual(proposed);
    expect(endOnDay(" 2026-12-24 ", proposed)).toEqual(new Date("2026-12-24T09:30:00.000Z"));
  });
  it("is refused when it is not a real day written as YYYY-MM-DD", () => {
    for (const bad of ["31/12/2026", "2026-02-30", "2026-13-01", "tomorrow", "2026-1-1", ""])
      expect(endOnDay(bad, proposed), bad).toBeNull();
  });
});

/** One message as a person sees it: its words, and its buttons with what each carries. */
interface Seen {
  text: string;
  buttons: { label: string; action: string; value: string }[];
}

const PEOPLE = ["alice", "bob", "carol", "dave", "erin"];

/**
 * The life of assignments in chat, on Slack and on Teams alike, told in order in one world per
 * platform: administrators assign (everyone the role's policy names is told), the clock reaches
 * 14 days before the ends, the reminder job runs, holders extend from the reminder, one
 * administrator approves and the other's card shows it, another request is denied, a stranger's
 * Approve is refused and audited, and an ended assignment is renewed from `assignments`.
 */
for (const platform of ["slack", "teams"] as Platform[]) {
  describeChat(`${platform}: the life of an assignment in chat`, (driver) => {
    let w: World;
    let p: Hands;
    let t0: number;
    let erin: Actor;
    const ids = { bob: "", aliceOps: "", carolOps: "" };

    beforeAll(async () => {
      w = await startWorld(driver, { fixture: "lifecycle.yaml", platforms: [platform] });
      p = handsFor(w, platform);
      // People write to the bot once before using it; on Teams that is how it knows their chat.
      if (platform === "teams") for (const user of PEOPLE) await p.type(user, "help");
      t0 = w.clock.now().getTime();
      erin = { kind: "person", id: await w.principalId("erin") };
      const assign = async (principal: string, role: string, days: number) => {
        const made = await assignRole(w.deps, erin, {
          principal,
          role,
          kind: "eligible",
          endsAt: new Date(t0 + days * DAY),
          justification: "Project work",
        });
        if (!made.ok || made.value.status !== "assigned") throw new Error(`could not assign ${principal} ${role}`);
        return made.value.assignment.id;
      };
      ids.bob = await assign("bob", "db-admin", 30);
      ids.aliceOps = await assign("alice", "ops", 20);
      ids.carolOps = await assign("carol", "ops", 1);
      await w.settle();
    });
    afterAll(async () => {
      if (w.slackApi) expect(w.slackApi.violations).toEqual([]);
      if (w.connector) expect(w.connector.violations).toEqual([]);
      await w.dispose();
    });

    // ── what people were shown ──

    function slackSeen(blocks: Json[]): Seen {
      const read = readBlocks(blocks, (id) => w.slackApi!.userName(id));
      return {
        text: read.text,
        buttons: read.buttons.map((b) => ({ label: b.label, action: b.actionId, value: b.value ?? "" })),
      };
    }

    function teamsSeen(card: Json): Seen {
      const read = readCard(card);
      return {
        text: read.text,
        buttons: read.buttons.map((b) => ({
          label: b.label,
          action: b.verb ?? "",
          value: String((b.data as Json | undefined)?.value ?? ""),
        })),
      };
    }

    /** Every message in the person's chat with the bot as it reads now (and, on Slack, what only they were shown). */
    function seenBy(user: string): Seen[] {
      if (platform === "slack") {
        const api = w.slackApi!;
        const u = slackIdOf(user);
        return [
          ...api.messagesIn(api.dmChannel(u)).map((m) => slackSeen(m.blocks)),
          ...api.ephemeralsFor(u).map((e) => slackSeen(e.blocks ?? [])),
        ];
      }
      const chat = w.teams!.personal(teamsUser(user)).conversationId;
      return w
        .connector!.inConversation(chat)
        .map((m) => cardOf(m.activity))
        .filter((c): c is Json => c !== undefined)
        .map(teamsSeen);
    }

    function alertChannel(): Seen[] {
      if (platform === "slack") return w.slackApi!.messagesIn("C0ALERTS").map((m) => slackSeen(m.blocks));
      return w
        .connector!.inConversation("19:pim-alerts@thread.tacv2")
        .map((m) => cardOf(m.activity))
        .filter((c): c is Json => c !== undefined)
        .map(teamsSeen);
    }

    const newest = (user: string, says: string) => [...seenBy(user)].reverse().find((s) => s.text.includes(says));

    /** The newest request card an administrator has, as it reads now. */
    function requestCardOf(user: string, requestId: string): Seen | undefined {
      return [...seenBy(user)].reverse().find((s) => s.text.includes(`Request ${requestId}`));
    }

    /** The newest extension or renewal request about an assignment. */
    async function requestAbout(assignmentId: string): Promise<string> {
      const asked = (await queryAudit(w.deps.db, {}))
        .filter((r) => r.event.endsWith("_requested") && r.data.assignmentId === assignmentId)
        .at(-1);
      return String(asked?.data.requestId ?? "");
    }

    /**
     * A click someone was never shown, sent as the platform would send it (a forged or stale
     * click): returns the words the clicker was shown in answer.
     */
    async function clickUnshown(user: string, action: string, value: string): Promise<string> {
      if (platform === "slack") {
        const api = w.slackApi!;
        const u = slackIdOf(user);
        const before = api.ephemeralsFor(u).length;
        const message: StoredMessage = {
          channel: api.dmChannel(u),
          ts: "1.0",
          text: "",
          blocks: [
            {
              type: "actions",
              elements: [{ type: "button", action_id: action, value, text: { type: "plain_text", text: "x" } }],
            },
          ],
          versions: [],
        };
        expect((await w.slack!.clickInMessage(u, message, action)).status).toBe(200);
        await w.settle();
        return api
          .ephemeralsFor(u)
          .slice(before)
          .map((e) => slackSeen(e.blocks ?? []).text || e.text)
          .join("\n");
      }
      const who = teamsUser(user);
      const where = w.teams!.personal(who);
      const before = w.connector!.inConversation(where.conversationId).length;
      const sent = await w.teams!.click(who, where, "1", action, { value, view: "tracked" });
      await w.settle();
      const later = w
        .connector!.inConversation(where.conversationId)
        .slice(before)
        .map((m) => readCard(cardOf(m.activity) ?? {}).text || String(m.activity.text ?? ""));
      return [readCard(answeredCard(sent)).text, ...later].join("\n");
    }

    /** Submits the open extension or renewal form with exactly these fields; returns the errors shown. */
    async function submitRaw(
      user: string,
      form: string,
      fields: Record<string, string>,
    ): Promise<Record<string, string>> {
      if (platform === "slack") {
        const api = w.slackApi!;
        const u = slackIdOf(user);
        const view = [...api.views.values()].filter((v) => v.user === u && v.view.callback_id === form).at(-1)!;
        const sent = await w.slack!.submit(u, view, fields);
        await w.settle();
        return (sent.json?.errors ?? {}) as Record<string, string>;
      }
      const who = teamsUser(user);
      const where = w.teams!.personal(who);
      const message = [...w.connector!.inConversation(where.conversationId)]
        .reverse()
        .find((m) => readCard(cardOf(m.activity) ?? {}).buttons.some((b) => b.verb === form))!;
      const button = readCard(cardOf(message.activity)!).buttons.find((b) => b.verb === form)!;
      const sent = await w.teams!.click(who, where, message.id, form, { ...(button.data as Json), ...fields });
      await w.settle();
      return fieldErrors(answeredCard(sent));
    }

    // ── the story ──

    it("an assignment made is told to the audiences notifications.assignment names, and the alert channel", async () => {
      const said = "Bob Brown is now eligible for Database Administrator at /mg/prod until 2026-12-02 09:00 UTC.";
      for (const user of ["bob", "carol", "dave", "erin"]) {
        const notice = newest(user, said);
        expect(notice, `${user} was told`).toBeDefined();
        expect(notice!.text).toContain("Database Administrator assigned");
        expect(notice!.text).toContain("Erin Eve");
      }
      expect(newest("alice", "Bob Brown")).toBeUndefined();
      expect(alertChannel().some((s) => s.text.includes(said))).toBe(true);
      expect(
        newest("carol", "Carol Chen is now eligible for Operations at / until 2026-11-03 09:00 UTC."),
      ).toBeDefined();
    });

    it("14 days before the end, the reminder job reminds the holder with Extend, and the administrators without", async () => {
      w.clock.set(new Date(t0 + 16 * DAY));
      // bob's and alice's chat-made assignments, and alice's declared one; carol's has ended.
      expect(await sendAssignmentReminders(w.deps)).toBe(3);
      expect(await sendAssignmentReminders(w.deps)).toBe(0);
      await w.settle();

      const bobs = newest("bob", "Your Database Administrator ends in 14 days")!;
      expect(bobs.text).toContain(
        "Your eligible assignment for Database Administrator at /mg/prod ends on 2026-12-02 09:00 UTC",
      );
      expect(bobs.buttons).toEqual([{ label: "Extend", action: ACTIONS.assignmentExtend, value: ids.bob }]);
      for (const admin of ["dave", "erin"]) {
        const copy = newest(admin, "Bob Brown's Database Administrator ends in 14 days");
        expect(copy, `${admin}'s copy`).toBeDefined();
        expect(copy!.buttons).toEqual([]);
      }
      const declared = newest("alice", "Your Database Administrator ends in 2 days")!;
      expect(declared.text).toContain("declared in pim.yaml");
      expect(declared.buttons).toEqual([]);
      expect(newest("alice", "Your Operations ends in 4 days")!.buttons.map((b) => b.label)).toEqual(["Extend"]);
    });

    it("the holder extends from the reminder; a non-administrator's Approve is refused; one administrator approves", async () => {
      await p.click("bob", ACTIONS.assignmentExtend, ids.bob);
      const missing = await p.submit("bob", FORMS.assignmentExtend, { reason: "" });
      expect(missing.reason).toContain("Say why you need it");
      expect(await p.submit("bob", FORMS.assignmentExtend, { reason: "The migration runs late" })).toEqual({});
      const requestId = await requestAbout(ids.bob);
      expect(requestId).toMatch(/^asr_/);

      for (const admin of ["dave", "erin"]) {
        const card = requestCardOf(admin, requestId)!;
        expect(card.text).toContain(
          "Bob Brown asks to extend their eligible assignment for Database Administrator at /mg/prod.",
        );
        expect(card.text).toContain("2026-12-02 09:00 UTC");
        expect(card.text).toContain("2027-01-01 09:00 UTC");
        expect(card.text).toContain("The migration runs late");
        expect(card.buttons.map((b) => [b.label, b.action, b.value])).toEqual([
          ["Approve", ACTIONS.assignmentApprove, requestId],
          ["Deny", ACTIONS.assignmentDeny, requestId],
        ]);
      }

      expect(await clickUnshown("carol", ACTIONS.assignmentApprove, requestId)).toContain(
        "Only pim-bot administrators can do this.",
      );
      const refused = await queryAudit(w.deps.db, { event: "admin.refused" });
      expect(refused.map((r) => [r.actor, r.data.action, r.data.code])).toEqual([
        ["carol", "assignment.request.approve", "NOT_ADMINISTRATOR"],
      ]);
      expect((await getAssignmentRequest(w.deps.db, requestId))!.status).toBe("pending");

      await p.click("erin", ACTIONS.assignmentApprove, requestId);
      expect((await getAssignment(w.deps.db, ids.bob))!.endsAt).toEqual(new Date(t0 + 60 * DAY));
      const [approved] = await queryAudit(w.deps.db, { event: "assignment.extend_approved" });
      expect(approved).toMatchObject({ actor: "erin", subject: "bob", decision: "approve", data: { requestId } });
      expect(await queryAudit(w.deps.db, { event: "assignment.updated" })).toHaveLength(1);

      const told = newest("bob", "Your extension of Database Administrator was approved")!;
      expect(told.text).toContain("now ends on 2027-01-01 09:00 UTC");
      expect(told.text).toContain("Approved by Erin Eve");
      for (const admin of ["dave", "erin"]) {
        const card = requestCardOf(admin, requestId)!;
        expect(card.text).toContain("Extension of Database Administrator approved");
        expect(card.text).toContain("Approved by Erin Eve");
        expect(card.buttons).toEqual([]);
      }
      // The cards were redrawn where they were, not posted again.
      expect(seenBy("dave").filter((s) => s.text.includes(`Request ${requestId}`))).toHaveLength(1);

      expect(await clickUnshown("dave", ACTIONS.assignmentApprove, requestId)).toContain(
        "Already approved by Erin Eve",
      );
    });

    it("another administrator denies, with a comment: the requester is told, the end stays", async () => {
      await p.click("alice", ACTIONS.assignmentExtend, ids.aliceOps);
      expect(await p.submit("alice", FORMS.assignmentExtend, { reason: "Still on call" })).toEqual({});
      const requestId = await requestAbout(ids.aliceOps);
      await p.click("dave", ACTIONS.assignmentDeny, requestId, { comment: "Ask again next quarter" });

      expect((await getAssignmentRequest(w.deps.db, requestId))!.status).toBe("denied");
      expect((await getAssignment(w.deps.db, ids.aliceOps))!.endsAt).toEqual(new Date(t0 + 20 * DAY));
      const [denied] = await queryAudit(w.deps.db, { event: "assignment.extend_denied" });
      expect(denied).toMatchObject({ actor: "dave", subject: "alice", data: { comment: "Ask again next quarter" } });
      const told = newest("alice", "Your extension of Operations was denied")!;
      expect(told.text).toContain("still ends on 2026-11-22 09:00 UTC");
      expect(told.text).toContain("Ask again next quarter");
      expect(requestCardOf("erin", requestId)!.text).toContain("Denied by Dave Dale");
    });

    it("an assignment that ended is renewed from `assignments`: Renew, the form, an administrator approves", async () => {
      await p.type("carol", "assignments");
      const list = newest("carol", "Your assignments")!;
      expect(list.text).toContain("Operations at / — eligible, ended 2026-11-03 09:00 UTC (15 days ago)");
      expect(list.buttons).toEqual([
        { label: "Renew Operations", action: ACTIONS.assignmentRenew, value: ids.carolOps },
      ]);

      await p.click("carol", ACTIONS.assignmentRenew, ids.carolOps);
      const bad = await submitRaw("carol", FORMS.assignmentRenew, {
        ends_on: "18/11/2026",
        reason: "Back on the rota",
      });
      expect(Object.values(bad).join(" ")).toContain("Give the day as YYYY-MM-DD");
      expect(await p.submit("carol", FORMS.assignmentRenew, { reason: "Back on the rota" })).toEqual({});
      const requestId = await requestAbout(ids.carolOps);
      expect(requestCardOf("erin", requestId)!.text).toContain("Carol Chen asks to renew their eligible assignment");

      await p.click("erin", ACTIONS.assignmentApprove, requestId);
      const now = w.clock.now();
      expect(await getAssignment(w.deps.db, ids.carolOps)).toMatchObject({
        startsAt: now,
        endsAt: new Date(now.getTime() + DAY),
      });
      expect(await queryAudit(w.deps.db, { event: "assignment.renew_approved" })).toHaveLength(1);
      expect(newest("carol", "Your renewal of Operations was approved")).toBeDefined();

      await p.type("carol", "assignments");
      expect(newest("carol", "Your assignments")!.text).toContain(
        "Operations at / — eligible, ends 2026-11-19 09:00 UTC (tomorrow)",
      );
    });
  });
}
