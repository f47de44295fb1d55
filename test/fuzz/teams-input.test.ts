import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelRequest, deactivate } from "../../src/app/activation/end.js";
import { ACTIONS, FORMS } from "../../src/chat/views/action-ids.js";
import { verifyAuditChain } from "../../src/db/audit-log.js";
import { listForPrincipal } from "../../src/db/repos/activations.js";
import { cardOf, fieldErrors, readCard } from "../support/teams/read-card.js";
import { TeamsDriver } from "../support/teams/teams-driver.js";
import { startTeamsWorld, type TeamsWorld, teamsUser } from "../support/teams/teams-world.js";
import { hostileText } from "./hostile-text.js";

/**
 * Whatever arrives from Teams — a message, a card's data, a form's fields — pim-bot answers with
 * an activity Teams accepts (every card goes through the real Adaptive Cards parser in the
 * stand-in), never a server error, and shows people's text without Teams formatting it.
 */
type Json = Record<string, unknown>;
const SEED = Number(process.env.FUZZ_SEED ?? 16);
const RUNS = Number(process.env.FUZZ_RUNS ?? 30);

/**
 * Markdown that only unescaped user text could produce in a card: a link, an <at> mention, a
 * {{DATE()}} function. pim-bot writes none of these itself.
 */
function unsafeMarkdown(card: unknown, out: string[] = []): string[] {
  if (Array.isArray(card)) for (const c of card) unsafeMarkdown(c, out);
  else if (card && typeof card === "object") {
    const o = card as Json;
    const markdown = [
      ...(o.type === "TextBlock" && typeof o.text === "string" ? [o.text] : []),
      ...(typeof o.title === "string" && typeof o.value === "string" && o.type === undefined ? [o.title, o.value] : []),
    ];
    for (const text of markdown)
      if (/(^|[^\\])\]\(|(^|[^\\])<at|(^|[^\\])\{\{/i.test(text)) out.push(text.slice(0, 200));
    if (o.type === "TextRun" && typeof o.text === "string" && o.text.includes("{{")) out.push(o.text.slice(0, 200));
    for (const child of Object.values(o)) unsafeMarkdown(child, out);
  }
  return out;
}

describe("Teams, fuzzed [pglite]", () => {
  let w: TeamsWorld;
  let d: TeamsDriver;
  const answers: Json[] = [];
  beforeAll(async () => {
    w = await startTeamsWorld("pglite");
    d = new TeamsDriver(w);
    for (const key of ["alice", "bob", "stranger"]) await w.teams.install(teamsUser(key));
  });
  afterAll(async () => {
    const cards = [...w.connector.messages.map((m) => cardOf(m.activity)), ...answers];
    expect(unsafeMarkdown(cards)).toEqual([]);
    expect(w.connector.violations).toEqual([]);
    expect(await verifyAuditChain(w.engine.handle)).toMatchObject({ ok: true });
    await w.dispose();
  });

  const person = fc.constantFrom("alice", "bob", "stranger");

  it("any message text: answered, never a server error", { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(person, hostileText(), async (who, text) => {
        const sent = await w.teams.message(teamsUser(who), text);
        expect(sent.status).toBeLessThan(300);
        await w.settle();
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("any card data on any verb, from anyone: an answer card Teams accepts, and no decision recorded", {
    timeout: 120_000,
  }, async () => {
    const verb = fc.constantFrom(...Object.values(ACTIONS), ...Object.values(FORMS), "pim.unknown", "", "refresh");
    const data = fc.dictionary(
      fc.oneof(
        fc.constantFrom("value", "view", "roles", "duration", "justification", "ticket", "comment"),
        fc.string(),
      ),
      fc.oneof(hostileText(), fc.jsonValue({ maxDepth: 2 })),
      { maxKeys: 5 },
    );
    await fc.assert(
      fc.asyncProperty(person, verb, data, async (who, v, values) => {
        const user = teamsUser(who);
        const sent = await w.teams.click(user, w.teams.personal(user), "1700000000000", v, values);
        expect(sent.status).toBe(200);
        if (sent.json?.value) answers.push(sent.json.value as Json);
        await w.settle();
      }),
      { seed: SEED, numRuns: RUNS },
    );
    const decisions = w.events.filter((e) => e.type === "request.changed");
    expect(decisions).toEqual([]);
  });

  it("any request form fields: errors on the card that say what is wrong, or a request", {
    timeout: 120_000,
  }, async () => {
    const form = await d.openForm("alice");
    // The form as first drawn: a request made from it redraws it without its button.
    const card = cardOf(form.activity)!;
    const button = readCard(card).buttons.find((b) => b.verb === FORMS.request)!;
    const u = teamsUser("alice");
    const alice = await w.engine.user("alice");
    const reader = await w.engine.role("reader");
    let refused = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 4, arbitrary: fc.constant(reader) }, { weight: 1, arbitrary: hostileText() }),
        fc.oneof({ weight: 4, arbitrary: fc.constant("3600000") }, { weight: 1, arbitrary: hostileText() }),
        hostileText(),
        // The role has no ticket rule, so an empty ticket is the usual case; sometimes anything.
        fc.oneof({ weight: 3, arbitrary: fc.constant("") }, { weight: 1, arbitrary: hostileText() }),
        async (roles, duration, justification, ticket) => {
          const typed = { roles, duration, justification, ticket };
          const sent = await w.teams.click(u, w.teams.personal(u), form.id, FORMS.request, {
            ...d.inputsOf(card, typed),
            ...button.data,
          });
          expect(sent.status).toBe(200);
          await w.settle();
          const answer = (sent.json?.value ?? {}) as Json;
          answers.push(answer);
          const errors = fieldErrors(answer);
          const open = await listForPrincipal(w.deps.db, alice, ["pending_approval", "activating", "active"]);
          if (Object.keys(errors).length > 0) {
            refused++;
            for (const message of Object.values(errors)) expect(message.trim().length).toBeGreaterThan(0);
          } else if (open.length > 0) accepted++;
          // Ended again, so the next case starts from nothing held.
          for (const a of open)
            if (a.status === "pending_approval") await cancelRequest(w.deps, a.requestId, alice);
            else await deactivate(w.deps, a.id, alice);
          await w.runJobs();
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`[fuzz teams form] ${refused} refused on the card, ${accepted} accepted`);
    expect(refused + accepted).toBeGreaterThan(0);
  });
});
