import { afterEach, beforeEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import { revokeActivationAsAdmin } from "../../src/app/admin/revoke-activation.js";
import { noEvents } from "../../src/app/kernel/events.js";
import { splitPerson } from "../../src/chat/flows/revoke.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeChat } from "../support/databases.js";
import { readBlocks } from "../support/slack/read-message.js";
import type { StoredMessage } from "../support/slack/slack-api.js";
import { slackIdOf } from "../support/slack/slack-world.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { answeredCard } from "../support/teams/teams-driver.js";
import { teamsUser } from "../support/teams/teams-world.js";
import { typeCommand } from "../support/typed-command.js";
import { type Platform, startWorld, type World } from "../support/world.js";

it("reads the person an administrator names: a platform mention, a key or an e-mail", () => {
  expect(splitPerson("<@U0ALICE|alice> reader Incident 42")).toEqual({
    person: { platformId: "U0ALICE" },
    rest: "reader Incident 42",
  });
  expect(splitPerson("<@U0ALICE> reader")).toEqual({ person: { platformId: "U0ALICE" }, rest: "reader" });
  expect(splitPerson("alice@example.com Reader")).toEqual({ person: { text: "alice@example.com" }, rest: "Reader" });
  expect(splitPerson("<mailto:alice@example.com|alice@example.com> reader why")).toEqual({
    person: { text: "alice@example.com" },
    rest: "reader why",
  });
  expect(splitPerson("  ")).toBeNull();
});

/**
 * Administrators take a role away from chat, on Slack and on Teams alike: `revoke @person <role>
 * <reason>` or the Revoke button of `active`, with a required reason; the holder is told who and
 * why; anyone else is refused, audited and alerted.
 */
for (const platform of ["slack", "teams"] as Platform[]) {
  describeChat(`${platform}: administrators revoke from chat`, (driver) => {
    let w: World;
    let activationId: string;
    beforeEach(async () => {
      w = await startWorld(driver, { platforms: [platform] });
      const requested = await requestActivation(w.deps, {
        requesterId: await w.principalId("alice"),
        roles: [{ roleId: await w.engine.role("reader") }],
        durationMs: HOUR,
        justification: "Reading the logs",
        origin: platform,
      });
      if (!requested.ok) throw new Error(requested.error.message);
      activationId = requested.value.activations[0]!.id;
      await w.runJobs();
      expect((await getActivation(w.deps.db, activationId))!.status).toBe("active");
    });
    afterEach(async () => {
      if (w.slackApi) expect(w.slackApi.violations).toEqual([]);
      if (w.connector) expect(w.connector.violations).toEqual([]);
      await w.dispose();
    });

    /** The person named as the platform writes a mention of them. */
    const mention = (key: string) => (platform === "slack" ? `<@${slackIdOf(key)}|${key}>` : `<at>${key}</at>`);

    /** Types a command; returns the words of what only the typist was shown, and its buttons' labels. */
    async function type(user: string, text: string, mentioned?: string): Promise<{ text: string; buttons: string[] }> {
      const said = await typeCommand(w, platform, user, text, mentioned);
      return { text: said.text, buttons: said.buttons.map((b) => b.label) };
    }

    const command = (text: string) => text;

    /** What the holder was sent in their direct chat with the bot. */
    function holderWasTold(): string {
      if (platform === "slack") {
        const api = w.slackApi!;
        return api
          .messagesIn(api.dmChannel(slackIdOf("alice")))
          .map((m) => readBlocks(m.blocks, (id) => api.userName(id)).text)
          .join("\n---\n");
      }
      return w
        .connector!.messages.filter((m) => cardOf(m.activity))
        .map((m) => readCard(cardOf(m.activity)!).text)
        .join("\n---\n");
    }

    it("revoke @person <role> <reason>: revoked at once, audited, the holder told who and why", async () => {
      const said = await type("erin", command(`revoke ${mention("alice")} Reader Incident 42: access frozen`), "alice");
      expect(said.text).toContain("Revoking Reader from Alice Adams now");
      const [ending] = await queryAudit(w.deps.db, { event: "activation.ending" });
      expect(ending).toMatchObject({
        actor: "erin",
        subject: "alice",
        activationId,
        data: { reason: "Incident 42: access frozen", revokedBy: "erin" },
      });
      const told = holderWasTold();
      expect(told).toContain("Role revoked");
      expect(told).toContain("Reader at / was revoked by Erin Eve");
      expect(told).toContain("Incident 42: access frozen");
      await w.runJobs();
      expect((await getActivation(w.deps.db, activationId))!.status).toBe("ended");
      expect(holderWasTold().split("Role revoked")).toHaveLength(2);
    });

    it("a revoke asked at the pim command line is told to the holder once the bot has carried it out", async () => {
      const cli = { ...w.deps, events: noEvents };
      const done = await revokeActivationAsAdmin(
        cli,
        { kind: "operator", name: "ops" },
        { activationId },
        "Audit finding",
      );
      expect(done.ok).toBe(true);
      await w.settle();
      expect(holderWasTold()).not.toContain("Role revoked");
      await w.runJobs();
      const told = holderWasTold();
      expect(told).toContain("Reader at / was revoked by cli:ops");
      expect(told).toContain("Audit finding");
      expect(told.split("Role revoked")).toHaveLength(2);
    });

    it("without a reason, the command opens the revoke form, which asks for one", async () => {
      const views = w.slackApi ? new Set(w.slackApi.views.keys()) : new Set<string>();
      await type("erin", command(`revoke ${mention("alice")} reader`), "alice");
      if (platform === "slack") {
        const modal = [...w.slackApi!.views.values()].find((v) => !views.has(v.id) && v.user === "U0ERIN");
        expect(modal?.view.callback_id).toBe("pim.form.revoke");
      } else {
        const erin = w.teams!.personal(teamsUser("erin"));
        const form = readCard(cardOf(w.connector!.inConversation(erin.conversationId).at(-1)!.activity) ?? {});
        expect(form.inputs.map((i) => i.id)).toEqual(["reason"]);
        expect(form.text).toContain("Take Reader at / away from Alice Adams now.");
      }
      expect((await getActivation(w.deps.db, activationId))!.status).toBe("active");
    });

    it("names the person by e-mail as well", async () => {
      const email = platform === "slack" ? "<mailto:alice@example.com|alice@example.com>" : "alice@example.com";
      const said = await type("erin", command(`revoke ${email} reader Rotating duties`));
      expect(said.text).toContain("Revoking Reader from Alice Adams now");
      expect((await getActivation(w.deps.db, activationId))!.status).toBe("ending");
    });

    it("refuses someone who is not an administrator: nothing revoked, the refusal audited and alerted", async () => {
      const said = await type("bob", command(`revoke ${mention("alice")} reader because`), "alice");
      expect(said.text).toContain("Only pim-bot administrators can do this.");
      expect((await getActivation(w.deps.db, activationId))!.status).toBe("active");
      const refused = await queryAudit(w.deps.db, { event: "admin.refused" });
      expect(refused.map((r) => [r.actor, r.data.action, r.data.code])).toEqual([
        ["bob", "activation.revoke", "NOT_ADMINISTRATOR"],
      ]);
      expect(w.events).toContainEqual(
        expect.objectContaining({ type: "alert", kind: "unauthorized_approval", subject: "bob" }),
      );
    });

    it("says what the person holds when the role named is not one of them", async () => {
      const said = await type("erin", command(`revoke ${mention("alice")} db-admin now`), "alice");
      expect(said.text).toContain("Alice Adams holds Reader now; name one of them.");
      expect((await getActivation(w.deps.db, activationId))!.status).toBe("active");
    });

    it("active lists the roles held now with a Revoke button whose form requires a reason", async () => {
      const list = await type("erin", command("active"));
      expect(list.text).toContain("Alice Adams: Reader at /");
      expect(list.buttons).toEqual(["Revoke"]);

      const errors = await revokeThroughForm("");
      expect(errors).toContain("Say why you revoke it");
      expect((await getActivation(w.deps.db, activationId))!.status).toBe("active");

      expect(await revokeThroughForm("Left the project")).toBe("");
      const [ending] = await queryAudit(w.deps.db, { event: "activation.ending" });
      expect(ending).toMatchObject({ actor: "erin", data: { reason: "Left the project" } });
      expect(holderWasTold()).toContain("Left the project");
    });

    /** Clicks Revoke on erin's newest `active` list and submits the form with `reason`; the error shown, if any. */
    async function revokeThroughForm(reason: string): Promise<string> {
      if (platform === "slack") {
        const api = w.slackApi!;
        const list = api.ephemeralsFor("U0ERIN").at(-1)!;
        const message: StoredMessage = { channel: "D0ERIN", ts: "1.0", text: "", blocks: list.blocks, versions: [] };
        const before = new Set(api.views.keys());
        expect((await w.slack!.clickInMessage("U0ERIN", message, "pim.revoke")).status).toBe(200);
        await w.settle();
        const modal = [...api.views.values()].find((v) => !before.has(v.id) && v.user === "U0ERIN")!;
        expect(modal.view.callback_id).toBe("pim.form.revoke");
        const sent = await w.slack!.submit("U0ERIN", modal, { reason });
        await w.settle();
        const errors = (sent.json?.errors ?? {}) as Record<string, string>;
        return Object.values(errors).join(" ");
      }
      const erin = teamsUser("erin");
      const where = w.teams!.personal(erin);
      const messages = w.connector!.inConversation(where.conversationId);
      const list = [...messages]
        .reverse()
        .find((m) => readCard(cardOf(m.activity) ?? {}).buttons.some((b) => b.verb === "pim.revoke"))!;
      const listCard = cardOf(list.activity)!;
      const button = readCard(listCard).buttons.find((b) => b.label === "Revoke")!;
      const before = messages.length;
      await w.teams!.click(erin, where, list.id, button.verb!, button.data ?? {});
      await w.settle();
      const form = w.connector!.inConversation(where.conversationId).slice(before).at(-1)!;
      const formCard = cardOf(form.activity)!;
      const submit = readCard(formCard).buttons.find((b) => b.label === "Revoke")!;
      const answered = answeredCard(
        await w.teams!.click(erin, where, form.id, submit.verb!, { ...submit.data, reason }),
      );
      await w.settle();
      const read = readCard(answered);
      return read.inputs.some((i) => i.id === "reason") ? read.text : "";
    }
  });
}
