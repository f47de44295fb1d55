import { count } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelRequest, deactivate } from "../../src/app/activation/end.js";
import { ACTIONS } from "../../src/chat/views/action-ids.js";
import { verifyAuditChain } from "../../src/db/audit-log.js";
import { listForPrincipal } from "../../src/db/repos/activations.js";
import { approvals } from "../../src/db/schema/activations.js";
import { specialTokens } from "../support/slack/read-message.js";
import type { StoredView } from "../support/slack/slack-api.js";
import { SlackDriver } from "../support/slack/slack-driver.js";
import { type SlackWorld, slackIdOf, startSlackWorld } from "../support/slack/slack-world.js";
import { hostileText } from "./hostile-text.js";

/**
 * Whatever arrives from Slack — a command's text, a form's values, a button's value — pim-bot
 * answers where it was typed, with an acknowledgement Slack accepts, never a crash (the world
 * fails its test if pim-bot logged an error), and shows people's text without Slack acting on it.
 */
type Json = Record<string, unknown>;
const SEED = Number(process.env.FUZZ_SEED ?? 16);
const RUNS = Number(process.env.FUZZ_RUNS ?? 30);
const SUBCOMMANDS = ["", "help", "extend", "review", "status", "roles", "pending", "end", "mfa"];

/** The only tokens pim-bot itself writes: mentions of the fixture's people, and dates. */
const OURS = /^<(@U0(ALICE|BOB|CAROL|DAVE|ERIN|FRANK|GLASS|GRACE)|!date\^\d+\^\{time\}\|[^>]*)>$/;

function mrkdwnOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) mrkdwnOf(v, out);
  else if (value && typeof value === "object") {
    const o = value as Json;
    if (o.type === "mrkdwn" && typeof o.text === "string") out.push(o.text);
    for (const child of Object.values(o)) mrkdwnOf(child, out);
  }
  return out;
}

describe("Slack, fuzzed [pglite]", () => {
  let w: SlackWorld;
  let d: SlackDriver;
  beforeAll(async () => {
    w = await startSlackWorld("pglite");
    d = new SlackDriver(w);
  });
  afterAll(async () => {
    // Everything pim-bot said, in every message, modal and private answer, obeys nobody's syntax.
    const texts = [
      ...w.api.messages.flatMap((m) => m.versions.flatMap((v) => [...mrkdwnOf(v.blocks)])),
      ...[...w.api.views.values()].flatMap((v) => [...mrkdwnOf(v.view), ...v.versions.flatMap((x) => mrkdwnOf(x))]),
      ...["U0ALICE", "U0BOB", "U0STRANGE"].flatMap((u) => w.api.ephemeralsFor(u).flatMap((e) => mrkdwnOf(e.blocks))),
    ];
    for (const text of texts) for (const token of specialTokens(text)) expect(token).toMatch(OURS);
    expect(w.api.violations).toEqual([]);
    expect(await verifyAuditChain(w.engine.handle)).toMatchObject({ ok: true });
    await w.dispose();
  });

  it("any /elevate text: a 200 acknowledgement, an answer, unknown words refused by name", {
    timeout: 120_000,
  }, async () => {
    const user = fc.constantFrom("U0ALICE", "U0BOB", "U0STRANGE");
    const text = fc.oneof(
      hostileText(),
      fc.tuple(fc.constantFrom(...SUBCOMMANDS), hostileText()).map(([sub, rest]) => `${sub} ${rest}`),
    );
    await fc.assert(
      fc.asyncProperty(user, text, async (who, typed) => {
        const before = w.api.ephemeralsFor(who).length;
        const sent = await w.slack.command(who, typed);
        expect(sent.status).toBe(200);
        await w.settle();
        // What the person was shown: the ack itself, or what followed through response_url.
        const shown = JSON.stringify([sent.json ?? {}, ...w.api.ephemeralsFor(who).slice(before)]);
        const first = typed.trim().split(/\s+/)[0]!.toLowerCase();
        if (!SUBCOMMANDS.includes(first)) expect(shown).toContain("I don't know");
        for (const token of specialTokens(shown)) expect(token).toMatch(OURS);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("any request form values: field errors that say what is wrong, or a request", { timeout: 120_000 }, async () => {
    const form = await d.openForm("alice");
    const alice = await w.engine.user("alice");
    const reader = await w.engine.role("reader");
    // Mostly what the form offers, so the free text is what gets judged; sometimes forged.
    const roleValue = fc.oneof({ weight: 4, arbitrary: fc.constant(reader) }, { weight: 1, arbitrary: hostileText() });
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(roleValue, { maxLength: 2 }),
        fc.oneof(
          { weight: 4, arbitrary: fc.constant("3600000") },
          { weight: 1, arbitrary: fc.oneof(fc.constantFrom("0", "-1", "1e309", "NaN"), hostileText()) },
        ),
        hostileText(),
        // The role has no ticket rule, so an empty ticket is the usual case; sometimes anything.
        fc.oneof({ weight: 3, arbitrary: fc.constant("") }, { weight: 1, arbitrary: hostileText() }),
        async (roles, duration, justification, ticket) => {
          const sent = await w.slack.interaction(
            forgedSubmission(form, { roles, duration, justification, ticket }, slackIdOf("alice")),
          );
          expect(sent.status).toBe(200);
          await w.settle();
          const errors = (sent.json?.errors ?? {}) as Record<string, string>;
          const open = await listForPrincipal(w.deps.db, alice, ["pending_approval", "activating", "active"]);
          if (Object.keys(errors).length > 0) {
            refused++;
            for (const message of Object.values(errors)) expect(message.trim().length).toBeGreaterThan(0);
          } else {
            // Nothing refused at the field: a request was made, or the refusal went to the requester.
            if (open.length > 0) accepted++;
            else expect(w.api.ephemeralsFor("U0ALICE").length + w.api.messages.length).toBeGreaterThan(0);
          }
          // Ended again, so the next case starts from nothing held.
          for (const a of open)
            if (a.status === "pending_approval") await cancelRequest(w.deps, a.requestId, alice);
            else await deactivate(w.deps, a.id, alice);
          await w.runJobs();
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`[fuzz slack form] ${refused} refused at a field, ${accepted} accepted`);
    expect(refused).toBeGreaterThan(0);
  });

  it("any button value on any action, from anyone: acknowledged, and nobody's decision recorded", {
    timeout: 120_000,
  }, async () => {
    // Every action id pim-bot puts on a card, numbered twins included. (An id it never wrote is
    // left unanswered by Bolt, which answers 404 after its 3-second wait.)
    const action = fc.oneof(
      fc.constantFrom(...Object.values(ACTIONS)),
      fc.tuple(fc.constantFrom(...Object.values(ACTIONS)), fc.nat(9)).map(([a, n]) => `${a}:${n}`),
    );
    const value = fc.oneof(
      hostileText(),
      fc.constantFrom("req_", "act_", "rol_", "alr_", "req_\u0000", "\u0000"),
      fc.uuid(),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("U0ALICE", "U0BOB", "U0STRANGE"), action, value, async (who, id, v) => {
        const channel = w.api.dmChannel(who);
        const sent = await w.slack.interaction({
          type: "block_actions",
          user: { id: who, username: who.toLowerCase(), name: who.toLowerCase(), team_id: "T0PIM" },
          api_app_id: "A0PIM",
          token: "legacy-verification-token",
          container: { type: "message", message_ts: "1700000000.000100", channel_id: channel, is_ephemeral: false },
          trigger_id: w.api.mintTrigger(who),
          team: { id: "T0PIM", domain: "pim-test" },
          channel: { id: channel, name: "directmessage" },
          message: { type: "message", ts: "1700000000.000100", text: "", blocks: [] },
          state: { values: {} },
          response_url: w.api.responseUrl(who, channel),
          actions: [
            {
              type: "button",
              action_id: id,
              block_id: "b0",
              text: { type: "plain_text", text: "Approve" },
              value: v,
              action_ts: `${Date.now() / 1000}`,
            },
          ],
        });
        expect(sent.status).toBe(200);
        await w.settle();
      }),
      { seed: SEED, numRuns: RUNS },
    );
    const [decisions] = await w.deps.db.select({ n: count() }).from(approvals);
    expect(decisions!.n).toBe(0);
  });
});

describe("Slack, a NUL character [pglite]", () => {
  // PostgreSQL text cannot hold U+0000: a NUL in a justification is refused next to the field,
  // not left to fail the handler's write (which logged an error and answered nothing).
  it("is refused with a message where it was typed, not a failed query", async () => {
    const w = await startSlackWorld("pglite");
    try {
      const d = new SlackDriver(w);
      const errors = await d.request("alice", {
        roles: ["reader"],
        duration: "1h",
        justification: "before\u0000after",
      });
      expect(Object.keys(errors)).toEqual(["justification"]);
    } finally {
      await w.dispose();
    }
  });
});

/** A view_submission of the request form with whatever values, including options the form never offered. */
function forgedSubmission(
  form: StoredView,
  typed: { roles: string[]; duration: string; justification: string; ticket: string },
  user: string,
): Json {
  const values: Record<string, Json> = {};
  const option = (v: string) => ({ text: { type: "plain_text", text: v.slice(0, 75) || "?" }, value: v });
  for (const block of (form.view.blocks as Json[]) ?? []) {
    if (block.type !== "input") continue;
    const blockId = String(block.block_id);
    const element = block.element as Json;
    const field = blockId.split(":")[0]!;
    const actionId = String(element.action_id);
    if (field === "roles")
      values[blockId] = { [actionId]: { type: element.type, selected_options: typed.roles.map(option) } };
    else if (field === "duration")
      values[blockId] = { [actionId]: { type: "static_select", selected_option: option(typed.duration) } };
    else if (field === "justification" || field === "ticket")
      values[blockId] = { [actionId]: { type: "plain_text_input", value: typed[field] } };
  }
  return {
    type: "view_submission",
    team: { id: "T0PIM", domain: "pim-test" },
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: "T0PIM" },
    api_app_id: "A0PIM",
    token: "legacy-verification-token",
    trigger_id: "fuzz",
    view: {
      id: form.id,
      team_id: "T0PIM",
      type: "modal",
      blocks: form.view.blocks,
      private_metadata: form.view.private_metadata ?? "",
      callback_id: form.view.callback_id ?? "",
      state: { values },
      hash: form.hash,
      title: form.view.title,
      app_id: "A0PIM",
      bot_id: "B0PIMBOT",
    },
    response_urls: [],
    is_enterprise_install: false,
  };
}
