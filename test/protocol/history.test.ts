/**
 * History for everyone, on Slack and on Teams alike: `history` lists my requests with how each
 * ended, `approvals` the decisions I made; `audit [filters]` reads the audit log for administrators
 * and auditors (refused and audited for anyone else); `audit export` puts the same CSV as
 * `pim audit export` in the reader's direct chat (Slack: a file upload; Teams: a link that works
 * once); and a role whose policy says `requireApprovalComment` is approved only with a comment.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { cancelRequest } from "../../src/app/activation/end.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { ACTIONS } from "../../src/chat/views/action-ids.js";
import { HISTORY_SHOWN } from "../../src/chat/views/history.js";
import { AUDIT_SHOWN } from "../../src/chat/views/history-audit.js";
import { type AuditFilter, exportAuditCsv, queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeChat } from "../support/databases.js";
import { type Hands, handsFor } from "../support/hands.js";
import { readBlocks } from "../support/slack/read-message.js";
import { slackIdOf } from "../support/slack/slack-world.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { answeredCard } from "../support/teams/teams-driver.js";
import { teamsUser } from "../support/teams/teams-world.js";
import { typeCommand } from "../support/typed-command.js";
import { type Platform, startWorld, type World } from "../support/world.js";

/** `pim audit export`'s bytes for a filter, read now. */
async function cliExport(w: World, filter: AuditFilter): Promise<string> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  await exportAuditCsv(w.engine.handle, filter, out);
  return Buffer.concat(chunks).toString("utf8");
}

for (const platform of ["slack", "teams"] as Platform[]) {
  describeChat(`${platform}: history, approvals and the audit log from chat`, (driver) => {
    let w: World;
    let hands: Hands;
    let deniedId: string;
    let pendingId: string;
    beforeAll(async () => {
      w = await startWorld(driver, { fixture: "history.yaml", platforms: [platform] });
      hands = handsFor(w, platform);
      // People write to the bot once before using it; on Teams that is how it knows their chat.
      if (platform === "teams") for (const user of ["alice", "bob", "erin", "dave"]) await hands.type(user, "help");
      const alice = await w.principalId("alice");
      const ask = async (role: string, justification: string) => {
        const asked = await requestActivation(w.deps, {
          requesterId: alice,
          roles: [{ roleId: await w.engine.role(role) }],
          durationMs: HOUR,
          justification,
          ticket: role === "db-admin" ? "INC-123456" : null,
          origin: platform,
        });
        if (!asked.ok) throw new Error(asked.error.message);
        await w.runJobs();
        return asked.value.requestId;
      };
      await ask("reader", "Reading the logs");
      w.clock.advance(60_000);
      deniedId = await ask("db-admin", "Vacuum the big table");
      const denied = await decide(w.deps, {
        requestId: deniedId,
        approverId: await w.principalId("bob"),
        decision: "deny",
        comment: "Not during the freeze",
      });
      expect(denied.ok).toBe(true);
      w.clock.advance(60_000);
      pendingId = await ask("db-admin", "Reindex after the freeze");
    });
    afterAll(async () => {
      if (w.slackApi) expect(w.slackApi.violations).toEqual([]);
      if (w.connector) expect(w.connector.violations).toEqual([]);
      await w.dispose();
    });

    /** Types a command; returns the words of what only the typist was shown. */
    const type = async (user: string, text: string) => (await typeCommand(w, platform, user, text)).text;

    /** Clicks Approve on bob's approval card, with a comment typed or not; what the click answered. */
    async function approveAsBob(comment?: string): Promise<string> {
      if (platform === "slack") {
        const api = w.slackApi!;
        const before = api.ephemeralsFor("U0BOB").length;
        await hands.click("bob", ACTIONS.approve, pendingId, comment ? { comment } : {});
        const said = api.ephemeralsFor("U0BOB").slice(before).at(-1);
        return said ? readBlocks(said.blocks, (id) => api.userName(id)).text : "";
      }
      const bob = teamsUser("bob");
      const where = w.teams!.personal(bob);
      const card = [...w.connector!.inConversation(where.conversationId)]
        .reverse()
        .find((m) => readCard(cardOf(m.activity) ?? {}).buttons.some((b) => b.verb === ACTIONS.approve))!;
      const read = readCard(cardOf(card.activity)!);
      const approve = read.buttons.find((b) => b.verb === ACTIONS.approve)!;
      const box = read.inputs.find((i) => i.id.startsWith("comment."))!;
      const answered = answeredCard(
        await w.teams!.click(bob, where, card.id, ACTIONS.approve, {
          ...approve.data,
          ...(comment ? { [box.id]: comment } : {}),
        }),
      );
      await w.settle();
      return readCard(answered).text;
    }

    it("history lists my requests of the last 90 days, newest first, with how each ended", async () => {
      const said = await type("alice", "history");
      expect(said).toContain("Your requests of the last 90 days");
      expect(said).toContain("Database Administrator at /mg/prod: waiting for approval");
      expect(said).toContain("Database Administrator at /mg/prod: denied: Not during the freeze");
      expect(said).toContain("Reader at /: granted, active until");
      expect(said).toContain("Why: Vacuum the big table · Ticket: INC-123456");
      expect(said.indexOf("Reindex after the freeze")).toBeLessThan(said.indexOf("Vacuum the big table"));
      expect(said.indexOf("Vacuum the big table")).toBeLessThan(said.indexOf("Reading the logs"));
      expect(await type("erin", "history")).toContain("No requests in the last 90 days");
    });

    it("approvals lists the decisions I made: which, whose request, the role, when and the comment", async () => {
      const said = await type("bob", "approvals");
      expect(said).toContain("Your decisions of the last 90 days");
      expect(said).toMatch(/Denied \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
      expect(said).toContain("Alice Adams: Database Administrator at /mg/prod (now denied)");
      expect(said).toContain("Comment: Not during the freeze");
      expect(await type("alice", "approvals")).toContain("No decisions in the last 90 days");
    });

    /** The words of bob's newest card with an Approve button. */
    function bobsApprovalCard(): string {
      if (platform === "slack") {
        const api = w.slackApi!;
        const card = [...api.messagesIn(api.dmChannel("U0BOB"))]
          .reverse()
          .map((m) => readBlocks(m.blocks, (id) => api.userName(id)))
          .find((r) => r.buttons.some((b) => b.label === "Approve"));
        return card?.text ?? "";
      }
      const where = w.teams!.personal(teamsUser("bob"));
      const card = [...w.connector!.inConversation(where.conversationId)]
        .reverse()
        .map((m) => readCard(cardOf(m.activity) ?? {}))
        .find((r) => r.buttons.some((b) => b.verb === ACTIONS.approve));
      return card?.text ?? "";
    }

    it("approve without a comment is refused where the comment box is, and audited; with one it counts", async () => {
      expect(bobsApprovalCard()).toContain("A comment is required to approve Database Administrator");
      const refused = await approveAsBob();
      expect(refused).toContain("A comment is required to approve Database Administrator");
      expect((await queryAudit(w.deps.db, { event: "approval.refused", requestId: pendingId })).at(-1)).toMatchObject({
        actor: "bob",
        decision: "approve",
        data: { code: "COMMENT_REQUIRED" },
      });
      const [pending] = await queryAudit(w.deps.db, { event: "activation.pending_approval", requestId: pendingId });
      expect(pending).toBeDefined();
      expect((await queryAudit(w.deps.db, { event: "approval.approve", requestId: pendingId })).length).toBe(0);

      await approveAsBob("Freeze is over; go ahead");
      await w.runJobs();
      const [approved] = await queryAudit(w.deps.db, { event: "approval.approve", requestId: pendingId });
      expect(approved).toMatchObject({ actor: "bob", data: { comment: "Freeze is over; go ahead" } });
      expect((await getActivation(w.deps.db, approved!.activationId!))!.status).toBe("active");
    });

    it("audit shows an administrator the newest events matching the filter", async () => {
      const byPerson = await type("erin", "audit person:alice event:approval");
      expect(byPerson).toContain("approval.deny");
      expect(byPerson).toContain("approval.approve");
      expect(byPerson).toContain("comment: Not during the freeze");
      expect(byPerson).not.toContain("activation.requested");
      expect(byPerson.indexOf("approval.approve")).toBeLessThan(byPerson.indexOf("approval.deny"));

      const byRole = await type("erin", 'audit role:"Database Administrator" event:activation.denied');
      expect(byRole).toContain("activation.denied");
      expect(byRole).not.toContain("activation.active");
      expect(byRole).not.toContain("approval.deny");

      const later = await type("erin", "audit since:2h until:2099-01-01 event:activation.active");
      expect(later).toContain("activation.active");
      expect(later).toContain("for alice, reader at /");
    });

    it("audit names the person with a mention as the platform writes it", async () => {
      let said: string;
      if (platform === "slack") said = await type("erin", "audit person:<@U0ALICE|alice> event:approval.deny");
      else {
        const erin = teamsUser("erin");
        const where = w.teams!.personal(erin);
        const before = w.connector!.inConversation(where.conversationId).length;
        const mentioned = teamsUser("alice");
        const activity = w.teams!.activity(erin, where, {
          type: "message",
          text: "elevate audit person:<at>Alice Adams</at> event:approval.deny",
          textFormat: "plain",
          entities: [
            { type: "mention", mentioned: { id: mentioned.id, name: "Alice Adams" }, text: "<at>Alice Adams</at>" },
          ],
        });
        expect((await w.teams!.post(activity)).status).toBe(200);
        await w.settle();
        const reply = w.connector!.inConversation(where.conversationId).slice(before).at(-1)!;
        said = readCard(cardOf(reply.activity) ?? {}).text;
      }
      expect(said).toContain("approval.deny");
      expect(said).toContain("for alice");
    });

    it("a named auditor reads it too; a bad filter is answered with the bad part named", async () => {
      expect(await type("dave", "audit event:approval.deny")).toContain("approval.deny");
      expect(await type("erin", "audit who:alice")).toContain('I don\'t understand "who:alice"');
      expect(await type("erin", "audit since:yesterday")).toContain('"yesterday" is not a date');
      expect(await type("erin", "audit person:nobody")).toContain('I don\'t know who "nobody" is');
      expect(await type("erin", "audit role:janitor")).toContain('no role is called "janitor"');
      expect(await type("erin", "audit event:nothing.like.this")).toContain(
        'no event in the audit log is called "nothing.like.this"',
      );
    });

    it("audit is refused to anyone else, audited and alerted", async () => {
      const said = await type("alice", "audit person:bob");
      expect(said).toContain("Only administrators and the auditors named in pim.yaml can read the audit log.");
      expect(said).not.toContain("approval");
      const exported = await type("alice", "audit export");
      expect(exported).toContain("Only administrators and the auditors named in pim.yaml can read the audit log.");
      const garbled = await type("alice", "audit who:bob");
      expect(garbled).toContain("Only administrators and the auditors named in pim.yaml can read the audit log.");
      const refused = await queryAudit(w.deps.db, { event: "admin.refused", principal: "alice" });
      expect(refused.map((r) => [r.actor, r.data.action, r.data.code])).toEqual([
        ["alice", "audit.query", "NOT_ADMINISTRATOR"],
        ["alice", "audit.export", "NOT_ADMINISTRATOR"],
        ["alice", "audit.query", "NOT_ADMINISTRATOR"],
      ]);
      expect(w.events).toContainEqual(
        expect.objectContaining({ type: "alert", kind: "unauthorized_approval", subject: "alice" }),
      );
      if (platform === "slack") expect(w.slackApi!.callsOf("files.getUploadURLExternal")).toEqual([]);
    });

    it("audit export puts pim audit export's CSV for the same filter in the reader's direct chat, audited", async () => {
      const exportsBefore = (await queryAudit(w.deps.db, { event: "audit.exported" })).length;
      await type("erin", "audit export person:alice event:activation");
      const expected = await cliExport(w, {
        principal: "alice",
        event: (await queryAudit(w.deps.db, { principal: "alice" }))
          .map((e) => e.event)
          .filter((e, i, all) => e.startsWith("activation") && all.indexOf(e) === i),
      });
      expect(expected.split("\n").length).toBeGreaterThan(8);
      const [exported] = (await queryAudit(w.deps.db, { event: "audit.exported" })).slice(exportsBefore);
      expect(exported).toMatchObject({ actor: "erin", data: { principal: "alice" } });

      if (platform === "slack") {
        const api = w.slackApi!;
        const [file, ...more] = api.filesIn(api.dmChannel(slackIdOf("erin")));
        expect(more).toEqual([]);
        expect(file!.filename).toMatch(/^pim-audit-\d{8}-\d{4}\.csv$/);
        expect(file!.bytes!.toString("utf8")).toBe(expected);
        expect(file!.initialComment).toContain("audit events matching person:alice event:activation");
        expect(api.callsOf("files.completeUploadExternal")).toHaveLength(1);
        return;
      }
      const erin = w.teams!.personal(teamsUser("erin"));
      const card = readCard(cardOf(w.connector!.inConversation(erin.conversationId).at(-1)!.activity)!);
      expect(card.text).toContain("audit events matching person:alice event:activation");
      expect(card.text).toContain("works once");
      const url = new URL(card.buttons.find((b) => b.url)!.url!);
      const link = `http://127.0.0.1:${w.port}${url.pathname}`;
      // A link checker's HEAD takes nothing; of two downloads at once, one gets the file and the other 410.
      expect((await fetch(link, { method: "HEAD" })).status).toBe(200);
      const [first, second] = await Promise.all([fetch(link), fetch(link)]);
      const [got, gone] = first.status === 200 ? [first, second] : [second, first];
      expect([got.status, gone.status]).toEqual([200, 410]);
      expect(got.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(got.headers.get("content-disposition")).toMatch(/^attachment; filename="pim-audit-\d{8}-\d{4}\.csv"$/);
      expect(await got.text()).toBe(expected);
      expect(await gone.text()).not.toContain("time,event");
      expect((await fetch(link)).status).toBe(410);
      const guessed = await fetch(`http://127.0.0.1:${w.port}/downloads/${"A".repeat(43)}`);
      expect(guessed.status).toBe(410);
    });

    it("long lists are capped, saying how many more there are and where to find them", async () => {
      const alice = await w.principalId("alice");
      for (let i = 0; i < HISTORY_SHOWN; i++) {
        w.clock.advance(60_000);
        const asked = await requestActivation(w.deps, {
          requesterId: alice,
          roles: [{ roleId: await w.engine.role("deploy") }],
          durationMs: HOUR,
          justification: `Round ${i}`,
          origin: platform,
        });
        if (!asked.ok) throw new Error(asked.error.message);
        const canceled = await cancelRequest(w.deps, asked.value.requestId, alice);
        if (!canceled.ok) throw new Error(canceled.error.message);
      }
      await w.settle();
      // Three requests before these, fifteen shown: the three oldest are counted, not shown.
      const history = await type("alice", "history");
      expect(history).toContain("Why: Round 14");
      expect(history).toContain("Production Deployer at /mg/prod: canceled");
      expect(history).not.toContain("Reading the logs");
      expect(history).toContain("3 more requests are not shown");
      const audit = await type("erin", "audit");
      expect(audit.match(/UTC — by /g)).toHaveLength(AUDIT_SHOWN);
      expect(audit).toContain("More events match, older than these.");
    });

    // What only one platform has: Slack's upload scope, Teams' download link.
    if (platform === "slack")
      it("an app installed without files:write is told so, not left silent", async () => {
        w.slackApi!.refuse("files.getUploadURLExternal", "missing_scope");
        const said = await type("erin", "audit export event:approval");
        expect(said).toContain("the app lacks the files:write scope");
      });

    if (platform === "teams")
      it("a download link ends after ten minutes unused", async () => {
        await type("erin", "audit export event:audit.exported");
        const erin = w.teams!.personal(teamsUser("erin"));
        const card = readCard(cardOf(w.connector!.inConversation(erin.conversationId).at(-1)!.activity)!);
        const url = new URL(card.buttons.find((b) => b.url)!.url!);
        w.clock.advance(10 * 60_000 + 1);
        expect((await fetch(`http://127.0.0.1:${w.port}${url.pathname}`)).status).toBe(410);
      });
  });
}
