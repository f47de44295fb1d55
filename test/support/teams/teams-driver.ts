import { and, eq } from "drizzle-orm";
import { expireDueActivations } from "../../../src/app/activation/expire.js";
import { satisfyMfa } from "../../../src/app/activation/satisfy-mfa.js";
import { timeOutDueRequests } from "../../../src/app/activation/time-out.js";
import { FIELDS, FORMS } from "../../../src/chat/views/action-ids.js";
import { listForPrincipal } from "../../../src/db/repos/activations.js";
import { logHoldings } from "../../../src/db/schema/connector-log.js";
import { parseDuration } from "../../../src/domain/duration.js";
import type { Ask, CardKind, CardView, ChatDriver, ScenarioWorld } from "../../protocol/scenarios.js";
import type { StoredActivity } from "./connector.js";
import { cardOf, fieldErrors, type ReadCard, readCard } from "./read-card.js";
import type { Sent, TeamsUser, Where } from "./teams-sender.js";
import { type TeamsWorld, teamsUser } from "./teams-world.js";

type Json = Record<string, unknown>;

const DEADLINE_MS = 5_000;

export async function eventually<T>(what: string, find: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const until = Date.now() + DEADLINE_MS;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The card an invoke answered with (Universal Actions put it in the response body). */
export function answeredCard(sent: Sent): Json {
  if (sent.status !== 200) throw new Error(`the invoke answered ${sent.status}: ${sent.text}`);
  const body = sent.json ?? {};
  if (body.type !== "application/vnd.microsoft.card.adaptive") throw new Error(`no card in the answer: ${sent.text}`);
  return body.value as Json;
}

/**
 * Acts like a person in the Teams client: messages and card clicks posted to the bot as Teams
 * posts them, answers read back from the invoke responses and the Bot Connector stand-in.
 */
export class TeamsDriver implements ChatDriver {
  readonly platform = "teams";
  /** What each person was shown only to them: notes the bot wrote on a card they clicked. */
  private readonly shown = new Map<string, string[]>();

  constructor(private readonly w: TeamsWorld) {}

  private note(user: string, lines: string[]) {
    if (lines.length > 0) this.shown.set(user, [...(this.shown.get(user) ?? []), ...lines]);
  }

  /** Sends "elevate" and returns the form the bot posted in reply. */
  async openForm(user: string, text = "elevate"): Promise<StoredActivity> {
    const u = teamsUser(user);
    const where = this.w.teams.personal(u);
    const before = this.w.connector.inConversation(where.conversationId).length;
    const sent = await this.w.teams.message(u, text);
    if (sent.status !== 200) throw new Error(`"${text}" answered ${sent.status}: ${sent.text}`);
    return eventually("the request form", () =>
      this.w.connector
        .inConversation(where.conversationId)
        .slice(before)
        .find((m) => readCard(cardOf(m.activity) ?? {}).inputs.some((i) => i.id === "roles")),
    );
  }

  /** Fills a card's inputs the way the client would send them: every input, with what was typed over the defaults. */
  inputsOf(card: Json, typed: Json): Json {
    const values: Json = {};
    for (const input of readCard(card).inputs) if (input.value !== undefined) values[input.id] = input.value;
    return { ...values, ...typed };
  }

  async clickButton(
    user: TeamsUser,
    where: Where,
    message: StoredActivity,
    card: Json,
    label: string,
    typed: Json = {},
  ) {
    const button = readCard(card).buttons.find((b) => b.label === label || b.label.startsWith(`${label} `));
    if (!button?.verb)
      throw new Error(`no "${label}" button on the card: ${readCard(card).buttons.map((b) => b.label)}`);
    const sent = await this.w.teams.click(user, where, message.id, button.verb, {
      ...this.inputsOf(card, typed),
      ...button.data,
    });
    await this.w.settle();
    return sent;
  }

  async submitForm(user: string, form: StoredActivity, typed: Json): Promise<Json> {
    const u = teamsUser(user);
    const card = cardOf(form.activity)!;
    const button = readCard(card).buttons.find((b) => b.verb === FORMS.request);
    if (!button) throw new Error("the form has no Request button");
    const sent = await this.w.teams.click(u, this.w.teams.personal(u), form.id, FORMS.request, {
      ...this.inputsOf(card, typed),
      ...button.data,
    });
    await this.w.settle();
    return answeredCard(sent);
  }

  async request(user: string, ask: Ask): Promise<Record<string, string>> {
    const roleIds = await Promise.all(ask.roles.map((key) => this.w.engine.role(key)));
    const duration = parseDuration(ask.duration);
    if (!duration.ok) throw new Error(duration.error);
    const typed: Json = {
      roles: roleIds.join(","),
      duration: String(duration.value),
      justification: ask.justification ?? "",
    };
    if (ask.ticket !== undefined) typed.ticket = ask.ticket;
    if (ask.start !== undefined) typed[FIELDS.start] = ask.start;
    if (ask.childScope !== undefined) typed[FIELDS.childScope] = ask.childScope;
    const answer = await this.submitForm(user, await this.openForm(user), typed);
    return fieldErrors(answer);
  }

  private async approverCard(user: string, via: "dm" | "channel" = "dm") {
    const message = await this.w.card(via === "dm" ? user : null, via === "dm" ? "approver" : "channel");
    if (!message) throw new Error(`${user} has no approval card (${via})`);
    const where: Where =
      via === "dm"
        ? { conversationId: message.conversationId, kind: "personal" }
        : { conversationId: `${message.conversationId};messageid=${message.id}`, kind: "channel" };
    return { message, where };
  }

  /** Clicks a button on a stored message (its first version when stale) and keeps what the answer told the clicker. */
  async clickOn(
    user: string,
    target: { message: StoredActivity; where: Where },
    label: string,
    opts: { stale?: boolean; typed?: Json } = {},
  ): Promise<ReadCard> {
    const activity = opts.stale ? target.message.versions[0]! : target.message.activity;
    const sent = await this.clickButton(
      teamsUser(user),
      target.where,
      target.message,
      cardOf(activity)!,
      label,
      opts.typed,
    );
    const answer = readCard(answeredCard(sent));
    this.note(user, answer.notices.length > 0 || answer.buttons.length > 0 ? answer.notices : [answer.text]);
    return answer;
  }

  async approve(user: string, opts: { stale?: boolean; via?: "dm" | "channel"; comment?: string } = {}): Promise<void> {
    const target = await this.approverCard(user, opts.via);
    const input = readCard(cardOf(target.message.activity)!).inputs.find((i) => i.id.startsWith("comment."));
    const typed = opts.comment && input ? { [input.id]: opts.comment } : undefined;
    await this.clickOn(user, target, "Approve", { stale: opts.stale, typed });
  }

  async deny(user: string, comment: string): Promise<Record<string, string>> {
    const target = await this.approverCard(user);
    const input = readCard(cardOf(target.message.activity)!).inputs.find((i) => i.id.startsWith("comment."));
    if (!input) throw new Error("the approval card has no comment box");
    const answer = await this.clickOn(user, target, "Deny", { typed: { [input.id]: comment } });
    return answer.alerts.length > 0 ? { comment: answer.alerts.join(" ") } : {};
  }

  async endNow(user: string): Promise<void> {
    const message = await this.w.card(user, "requester");
    if (!message) throw new Error(`${user} has no request card`);
    await this.clickOn(
      user,
      { message, where: { conversationId: message.conversationId, kind: "personal" } },
      "End now",
    );
  }

  async cancel(user: string): Promise<void> {
    const message = await this.w.card(user, "requester");
    if (!message) throw new Error(`${user} has no request card`);
    await this.clickOn(
      user,
      { message, where: { conversationId: message.conversationId, kind: "personal" } },
      "Cancel request",
    );
  }

  async card(user: string | null, kind: CardKind): Promise<CardView | undefined> {
    await this.w.settle();
    const message = await this.w.card(user, kind);
    const card = message ? cardOf(message.activity) : undefined;
    if (!card) return undefined;
    const read = readCard(card);
    return { text: read.text, buttons: read.buttons.map((b) => b.label) };
  }

  async notes(user: string): Promise<string[]> {
    await this.w.settle();
    return this.shown.get(user) ?? [];
  }
}

/** The scenario world over a Teams world: jobs, time and MFA go straight to the engine. */
export function teamsScenarioWorld(w: TeamsWorld): ScenarioWorld {
  return {
    driver: new TeamsDriver(w),
    runJobs: () => w.runJobs(),
    async wait(ms) {
      w.engine.clock.advance(ms);
      await timeOutDueRequests(w.deps);
      await expireDueActivations(w.deps);
      await w.runJobs();
    },
    async satisfyMfa(user) {
      const id = await w.engine.user(user);
      const waiting = (await listForPrincipal(w.deps.db, id, ["pending_mfa"])).at(-1);
      if (!waiting) throw new Error(`${user} has nothing waiting for MFA`);
      const done = await satisfyMfa(w.deps, waiting.id, id, { method: "passkey" });
      if (!done.ok) throw new Error(done.error.message);
      await w.settle();
    },
    async held(user, role) {
      const rows = await w.deps.db
        .select()
        .from(logHoldings)
        .where(and(eq(logHoldings.login, user), eq(logHoldings.role, role)));
      return rows.length > 0;
    },
  };
}
