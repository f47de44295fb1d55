import { afterEach, beforeEach, expect, it } from "vitest";
import { listForPrincipal } from "../../src/db/repos/activations.js";
import { describeChat } from "../support/databases.js";
import { cardOf, fieldErrors, readCard } from "../support/teams/read-card.js";
import { answeredCard, type TeamsDriver, teamsScenarioWorld } from "../support/teams/teams-driver.js";
import { startTeamsWorld, type TeamsWorld, teamsUser } from "../support/teams/teams-world.js";

type Json = Record<string, unknown>;

const ids = (card: Json) => readCard(card).inputs.map((i) => i.id);
const choices = (card: Json, id: string) =>
  readCard(card)
    .inputs.find((i) => i.id === id)!
    .choices.map((c) => c.title);
const HOUR = 3_600_000;

describeChat("Teams: the request form", (driver) => {
  let w: TeamsWorld;
  let d: TeamsDriver;
  beforeEach(async () => {
    w = await startTeamsWorld(driver);
    d = teamsScenarioWorld(w).driver as TeamsDriver;
  });
  afterEach(async () => {
    expect(w.connector.violations).toEqual([]);
    await w.dispose();
  });

  it("answers elevate with a form card: several roles at once, durations, justification, and the ticket a role needs", async () => {
    const form = cardOf((await d.openForm("alice")).activity)!;
    expect(ids(form)).toEqual(["roles", "duration", "justification", "ticket", "start", "child_scope"]);
    expect(readCard(form).text).toContain("Narrower scope (optional; for Reader)");
    const roles = readCard(form).inputs[0]!;
    expect(roles.type).toBe("Input.ChoiceSet");
    expect((form.body as Json[]).find((e) => e.id === "roles")!.isMultiSelect).toBe(true);
    expect(roles.choices.map((c) => c.title)).toEqual([
      "Billing Reader",
      "Database Administrator",
      "Global Administrator",
      "Production Deployer",
      "Reader",
    ]);
    expect(choices(form, "duration").at(-1)).toBe("8h");
    expect(readCard(form).text).toContain("Ticket (needed for Database Administrator)");
  });

  it("also opens on /elevate, and with a role already picked when one is named", async () => {
    const form = cardOf((await d.openForm("alice", "/elevate Global Administrator")).activity)!;
    expect(readCard(form).inputs[0]!.value).toBe(await w.engine.role("global-admin"));
    expect(choices(form, "duration")).toEqual(["15m", "30m", "1h", "2h"]);
    expect(ids(form)).toEqual(["roles", "duration", "justification", "start"]);
  });

  it("shows a missing justification and a wrong ticket on the card, under their fields, keeping what was typed", async () => {
    const dbAdmin = await w.engine.role("db-admin");
    const form = await d.openForm("alice");
    const noReason = await d.submitForm("alice", form, {
      roles: dbAdmin,
      duration: String(HOUR),
      ticket: "INC-123456",
    });
    expect(fieldErrors(noReason)).toEqual({
      justification: "Database Administrator requires a justification: say why you need it.",
    });
    const badTicket = await d.submitForm("alice", form, {
      roles: dbAdmin,
      duration: String(HOUR),
      justification: "Fix the index",
      ticket: "JIRA-1",
    });
    expect(fieldErrors(badTicket)).toEqual({ ticket: "Ticket must look like INC-123456." });
    const kept = Object.fromEntries(readCard(badTicket).inputs.map((i) => [i.id, i.value]));
    expect(kept).toMatchObject({
      roles: dbAdmin,
      justification: "Fix the index",
      ticket: "JIRA-1",
      duration: String(HOUR),
    });
    // The refused form stays in the chat with its errors, not just in the clicker's view.
    const stored = w.connector.message(form.conversationId, form.id)!;
    expect(fieldErrors(cardOf(stored.activity)!)).toEqual({ ticket: "Ticket must look like INC-123456." });
    expect(await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["pending_approval"])).toEqual([]);
  });

  it("puts each refusal next to the field that caused it, and a forged duration gets the policy's words", async () => {
    const form = await d.openForm("alice");
    expect(fieldErrors(await d.submitForm("alice", form, { roles: "", justification: "x" }))).toEqual({
      roles: "Pick at least one role.",
    });
    const reader = await w.engine.role("reader");
    expect(
      fieldErrors(await d.submitForm("alice", form, { roles: reader, duration: String(9 * HOUR), justification: "x" })),
    ).toEqual({
      duration: "Reader can be active for at most 8h; you asked for 9h.",
    });
    expect(
      fieldErrors(await d.submitForm("alice", form, { roles: reader, duration: "soon", justification: "x" })),
    ).toEqual({
      duration: "Pick how long you need it.",
    });
    expect(fieldErrors(await d.submitForm("alice", form, { roles: "rol_forged", justification: "x" }))).toEqual({
      roles: "One of these roles can no longer be requested; open the form again.",
    });
  });

  it("turns a sent form into a receipt, and the live card about the request follows in the chat", async () => {
    const form = await d.openForm("alice");
    const receipt = await d.submitForm("alice", form, {
      roles: await w.engine.role("reader"),
      duration: String(2 * HOUR),
      justification: "Read the logs",
    });
    expect(readCard(receipt).text).toContain("Request sent");
    expect(readCard(receipt).text).toContain("Reader for 2h.");
    expect(readCard(receipt).inputs).toEqual([]);
    const live = await w.card("alice", "requester");
    expect(live?.conversationId).toBe(form.conversationId);
    expect(readCard(cardOf(live!.activity)!).text).toContain("Reader at /");
  });

  it("extends an active role from its card: the extension form comes next, and the extension goes through policy", async () => {
    const form = await d.openForm("alice");
    await d.submitForm("alice", form, {
      roles: await w.engine.role("reader"),
      duration: String(HOUR),
      justification: "Logs",
    });
    await w.runJobs();
    const card = (await w.card("alice", "requester"))!;
    const where = { conversationId: card.conversationId, kind: "personal" as const };
    const before = w.connector.inConversation(card.conversationId).length;
    const answer = readCard(
      answeredCard(await d.clickButton(teamsUser("alice"), where, card, cardOf(card.activity)!, "Extend")),
    );
    expect(answer.notices).toEqual(["The extension form is the next message."]);
    const extendForm = w.connector
      .inConversation(card.conversationId)
      .slice(before)
      .find((m) => readCard(cardOf(m.activity)!).text.includes("Extend Reader"))!;
    const extendCard = cardOf(extendForm.activity)!;
    expect(readCard(extendCard).inputs.find((i) => i.id === "justification")!.value).toBe("Logs");
    const sent = answeredCard(
      await d.clickButton(teamsUser("alice"), where, extendForm, extendCard, "Ask for more time", {
        duration: String(4 * HOUR),
      }),
    );
    expect(readCard(sent).text).toContain("Extension requested");
    await w.runJobs();
    const active = await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["active"]);
    expect(active).toHaveLength(1);
    expect(active[0]!.status === "active" && active[0]!.endsAt.toISOString()).toBe("2026-11-02T13:00:00.000Z");
  });
});
