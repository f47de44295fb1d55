import { generate } from "otplib";
import { afterAll, beforeAll, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { listAllAssignments } from "../../src/app/admin/members.js";
import { parseAssign } from "../../src/chat/flows/admin.js";
import { ACTIONS, FORMS } from "../../src/chat/views/action-ids.js";
import { parseEnd } from "../../src/chat/views/admin-form.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { assignmentReference } from "../../src/domain/assignment-reference.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeChat } from "../support/databases.js";
import { type Hands, handsFor } from "../support/hands.js";
import { slackIdOf } from "../support/slack/slack-world.js";
import { typeCommand } from "../support/typed-command.js";
import { type Platform, startWorld, type World } from "../support/world.js";

it("reads the typed assignment: a role's name may have spaces, the kind ends it, then scope, start, end, justification", () => {
  expect(parseAssign("bob Database Administrator active /mg/prod from 2027-01-01 for 7d Migration weekend")).toEqual({
    person: { text: "bob" },
    role: "Database Administrator",
    kind: "active",
    scope: "/mg/prod",
    start: "2027-01-01",
    end: "for 7d",
    justification: "Migration weekend",
  });
  expect(parseAssign("<@U0BOB|bob> reader eligible permanent")).toMatchObject({
    person: { platformId: "U0BOB" },
    end: "permanent",
    justification: null,
  });
  expect(parseAssign("bob reader")).toBe("Say eligible or active after the role.");
  expect(parseAssign("bob eligible")).toBe("Name the role before eligible or active.");
  const now = new Date("2026-11-02T09:00:00Z");
  expect(parseEnd("until 2027-01-31", now)).toEqual({ ok: true, value: new Date("2027-02-01T00:00:00Z") });
  expect(parseEnd("for 30d", now)).toEqual({ ok: true, value: new Date("2026-12-02T09:00:00Z") });
  expect(parseEnd("", now)).toEqual({ ok: true, value: null });
  expect(parseEnd("for soon", now).ok).toBe(false);
  expect(parseEnd("2027-02-30", now).ok).toBe(false);
});

/**
 * Administrators assign, list, change and remove assignments from chat, on Slack and on Teams
 * alike, through the bot built by compose(): the form and the typed command, the member list with
 * its Remove button and form, refusals (not an administrator, one's own assignment, the role's
 * rules) audited where the use case says, and an active assignment held until the administrator's
 * MFA step-up, passed on the MFA page over HTTP.
 */
for (const platform of ["slack", "teams"] as Platform[]) {
  describeChat(`${platform}: administrators assign from chat`, (driver) => {
    let w: World;
    let hands: Hands;
    beforeAll(async () => {
      w = await startWorld(driver, { fixture: "admin-chat.yaml", platforms: [platform] });
      hands = handsFor(w, platform);
    });
    afterAll(async () => {
      if (w.slackApi) expect(w.slackApi.violations).toEqual([]);
      if (w.connector) expect(w.connector.violations).toEqual([]);
      await w.dispose();
    });

    const mention = (key: string) => (platform === "slack" ? `<@${slackIdOf(key)}|${key}>` : `<at>${key}</at>`);

    /** Types a command; returns the words and buttons of what only the typist was shown. */
    const type = (user: string, text: string, mentioned?: string) => typeCommand(w, platform, user, text, mentioned);

    async function assignmentsOf(principal: string) {
      const listed = await listAllAssignments(w.deps, { kind: "operator", name: "test" }, { principal });
      if (!listed.ok) throw new Error(listed.error.message);
      return listed.value;
    }

    it("assigns eligible through the form: who, role at scope, kind, end, why", async () => {
      await hands.type("erin", "admin");
      const errors = await hands.submit("erin", FORMS.assign, {
        principal: "bob",
        target: { role: "reader", scope: "/" },
        kind: "eligible",
        end: "for 30d",
        justification: "Joins the on-call rota",
      });
      expect(errors).toEqual({});
      const [bob] = await assignmentsOf("bob");
      expect(bob).toMatchObject({
        role: { key: "reader" },
        kind: "eligible",
        scope: "/",
        source: "chat",
        endsAt: new Date(w.clock.now().getTime() + 30 * 86_400_000),
      });
      const created = (await queryAudit(w.deps.db, { event: "assignment.created" })).find((e) => e.subject === "bob");
      expect(created).toMatchObject({ actor: "erin", subject: "bob", justification: "Joins the on-call rota" });
    });

    it("assigns as typed, naming the person with a mention", async () => {
      const said = await type(
        "erin",
        `admin assign ${mention("carol")} reader eligible until 2027-01-31 Covering`,
        "carol",
      );
      expect(said.text).toContain("Carol Chen is eligible for Reader at /, until 2027-02-01 UTC.");
      expect((await assignmentsOf("carol")).map((a) => [a.role.key, a.kind, a.source])).toEqual([
        ["reader", "eligible", "chat"],
      ]);
    });

    it("answers bad input with the usage and what was wrong", async () => {
      expect((await type("erin", "admin assign bob reader")).text).toContain("Say eligible or active after the role.");
      expect((await type("erin", "admin assign bob reader eligible for soon")).text).toContain(
        `"soon" is not a duration`,
      );
      expect((await type("erin", "admin frobnicate")).text).toContain(`I don't know "admin frobnicate"`);
    });

    it("lists a role's members with their reference and a Remove button; Remove asks for a reason, then removes", async () => {
      const list = await type("erin", "admin members reader");
      const [bob] = await assignmentsOf("bob");
      expect(list.text).toContain("Alice Adams: eligible at /, permanent — from file, not active now");
      expect(list.text).toContain(`Bob Brown: eligible at /, until`);
      expect(list.text).toContain(`from chat, not active now — ref ${assignmentReference(bob!.id)}`);
      expect(list.buttons.filter((b) => b.label === "Remove")).toHaveLength(3);

      await hands.click("erin", ACTIONS.assignmentRemove, bob!.id);
      const refused = await hands.submit("erin", FORMS.assignmentRemove, { reason: "" });
      expect(Object.values(refused).join(" ")).toContain("Say why you remove it");
      expect(await assignmentsOf("bob")).toHaveLength(1);

      await hands.click("erin", ACTIONS.assignmentRemove, bob!.id);
      expect(await hands.submit("erin", FORMS.assignmentRemove, { reason: "Left the rota" })).toEqual({});
      expect(await assignmentsOf("bob")).toEqual([]);
      const [removed] = await queryAudit(w.deps.db, { event: "assignment.removed" });
      expect(removed).toMatchObject({
        actor: "erin",
        subject: "bob",
        data: { reason: "Left the rota", source: "chat" },
      });
      expect((await type("erin", "admin members reader")).text).not.toContain("Bob Brown");
    });

    it("changes an end by the assignment's reference", async () => {
      const [carol] = await assignmentsOf("carol");
      const said = await type("erin", `admin end ${assignmentReference(carol!.id)} for 60d Covering longer`);
      expect(said.text).toContain(
        "Carol Chen's eligible assignment for Reader at / is now until 2027-01-01 09:00 UTC.",
      );
      const [updated] = await queryAudit(w.deps.db, { event: "assignment.updated" });
      expect(updated).toMatchObject({ actor: "erin", subject: "carol", data: { reason: "Covering longer" } });
    });

    it("offers Revoke on a member holding the role now through an activation, through the revoke form", async () => {
      const requested = await requestActivation(w.deps, {
        requesterId: await w.principalId("alice"),
        roles: [{ roleId: await w.engine.role("reader") }],
        durationMs: HOUR,
        justification: "Reading the logs",
        origin: platform,
      });
      if (!requested.ok) throw new Error(requested.error.message);
      await w.runJobs();
      const activationId = requested.value.activations[0]!.id;
      const list = await type("erin", "admin members reader");
      expect(list.text).toContain("Alice Adams: eligible at /, permanent — from file, active now");
      expect(list.buttons.filter((b) => b.label === "Revoke").map((b) => b.value)).toEqual([activationId]);
      await hands.click("erin", ACTIONS.revoke, activationId);
      expect(await hands.submit("erin", FORMS.revoke, { reason: "Audit finding" })).toEqual({});
      expect((await getActivation(w.deps.db, activationId))!.status).toBe("ending");
      await w.runJobs();
    });

    it("refuses someone who is not an administrator: audited and alerted, nothing shown or changed", async () => {
      expect((await type("alice", "admin")).text).toContain("Only pim-bot administrators can do this.");
      expect((await type("alice", "admin assign bob reader eligible")).text).toContain(
        "Only pim-bot administrators can do this.",
      );
      expect((await type("alice", "admin members reader")).text).toContain(
        "Only administrators and the auditors named in pim.yaml",
      );
      expect(await assignmentsOf("bob")).toEqual([]);
      const refused = (await queryAudit(w.deps.db, { event: "admin.refused" })).filter((r) => r.actor === "alice");
      expect(refused.map((r) => [r.data.action, r.data.code]).sort()).toEqual([
        ["assignment.create", "NOT_ADMINISTRATOR"],
        ["assignment.form", "NOT_ADMINISTRATOR"],
        ["role.members", "NOT_ADMINISTRATOR"],
      ]);
      const alerts = w.events.filter(
        (e) => e.type === "alert" && e.kind === "unauthorized_approval" && e.subject === "alice",
      );
      expect(alerts).toHaveLength(3);
    });

    it("refuses an administrator's own assignment, also through a group they belong to", async () => {
      expect((await type("erin", "admin assign erin reader eligible Testing")).text).toContain(
        "You cannot change your own assignments; ask another administrator.",
      );
      expect((await type("erin", "admin assign dbas reader eligible")).text).toContain(
        "You are a member of this group, so this would change your own access",
      );
      const codes = (await queryAudit(w.deps.db, { event: "admin.refused" }))
        .filter((r) => r.actor === "erin")
        .map((r) => r.data.code);
      expect(codes).toEqual(["SELF_ASSIGNMENT", "SELF_ASSIGNMENT"]);
    });

    it("refuses what the role's rules forbid, with the reason under the field it is about", async () => {
      await hands.type("erin", "admin");
      const errors = await hands.submit("erin", FORMS.assign, {
        principal: "bob",
        target: { role: "db-admin", scope: "/mg/prod" },
        kind: "active",
        justification: "Migration",
      });
      expect(errors.end).toContain("Database Administrator does not allow permanent active assignments");
      const typed = await type("erin", "admin assign bob db-admin active /mg/prod for 60d Migration");
      expect(typed.text).toContain("Database Administrator allows active assignments of at most 30d");
      expect(await assignmentsOf("bob")).toEqual([]);
    });

    it("holds an active assignment until the administrator's MFA step-up, then puts it in force", async () => {
      const secret = await enrollTotp("erin");
      const said = await type("erin", "admin assign bob db-admin active /mg/prod for 7d Migration weekend");
      expect(said.text).toContain("Bob Brown's active assignment for Database Administrator at /mg/prod takes effect");
      const link = said.buttons.find((b) => b.label === "Confirm and assign")?.url;
      expect(link).toBeDefined();
      expect(await assignmentsOf("bob")).toEqual([]);
      const held = (await queryAudit(w.deps.db, { event: "assignment.step_up_required" })).at(-1)!;
      expect(held).toMatchObject({ actor: "erin", subject: "bob" });
      // The link is for the administrator who made the assignment, nobody else.
      const pendingId = String(held.data.pendingId);
      expect(await w.bot.mfa.assignmentLinkFor(pendingId, await w.principalId("alice"))).toBeNull();

      const shown = await page(link!);
      expect(shown.html).toContain("Confirm the assignment");
      const passed = await post(link!, "totp", { csrf: shown.csrf!, code: await code(secret) });
      expect(passed.status).toBe(200);
      expect(passed.html).toContain("bob is now active for db-admin at /mg/prod");
      expect((await assignmentsOf("bob")).map((a) => [a.role.key, a.kind, a.scope, a.source])).toEqual([
        ["db-admin", "active", "/mg/prod", "chat"],
      ]);
      expect((await queryAudit(w.deps.db, { event: "assignment.step_up_passed" })).at(-1)).toMatchObject({
        actor: "erin",
        subject: "bob",
        data: { method: "totp" },
      });
      // The link works once.
      expect((await post(link!, "totp", { csrf: shown.csrf!, code: await code(secret, 1) })).status).toBe(410);
    });

    // ── the MFA pages over plain HTTP, as a browser without JavaScript uses them ──

    const url = (link: string, step = "") => `http://127.0.0.1:${w.port}${new URL(link).pathname}${step}`;
    const code = (secret: string, offsetSteps = 0) =>
      generate({ secret, epoch: Math.floor(w.clock.now().getTime() / 1000) + offsetSteps * 30 });

    async function page(link: string) {
      const res = await fetch(url(link));
      const html = await res.text();
      return { status: res.status, html, csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? null };
    }

    async function post(link: string, step: string, fields: Record<string, string>) {
      const res = await fetch(url(link, `/${step}`), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields),
      });
      return { status: res.status, html: await res.text() };
    }

    /** Sets up an authenticator app for `user` with an invitation; the clock moves on past its code. */
    async function enrollTotp(user: string): Promise<string> {
      const invited = await w.bot.mfa.invite(user, "test");
      if (!invited.ok) throw new Error(invited.error.message);
      const shown = await page(invited.value.link);
      const secret = /id="totp-secret"[^>]*>([A-Z2-7]+)</.exec(shown.html)![1]!;
      const done = await post(invited.value.link, "totp/enroll", { csrf: shown.csrf!, code: await code(secret) });
      expect(done.status).toBe(200);
      w.clock.advance(30_000);
      return secret;
    }
  });
}
