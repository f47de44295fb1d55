import { and, eq } from "drizzle-orm";
import { expireDueActivations } from "../../../src/app/activation/expire.js";
import { satisfyMfa } from "../../../src/app/activation/satisfy-mfa.js";
import { timeOutDueRequests } from "../../../src/app/activation/time-out.js";
import { FIELDS } from "../../../src/chat/views/action-ids.js";
import { listForPrincipal } from "../../../src/db/repos/activations.js";
import { logHoldings } from "../../../src/db/schema/connector-log.js";
import { parseDuration } from "../../../src/domain/duration.js";
import type { Ask, CardKind, CardView, ChatDriver, ScenarioWorld } from "../../protocol/scenarios.js";
import { readBlocks } from "./read-message.js";
import type { StoredMessage, StoredView } from "./slack-api.js";
import type { FieldValue, Sent } from "./slack-sender.js";
import { type SlackWorld, slackIdOf } from "./slack-world.js";

const DEADLINE_MS = 5_000;

/** Polls until `find` returns something, or fails after a deadline (async effects, never sleeps). */
export async function eventually<T>(what: string, find: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const until = Date.now() + DEADLINE_MS;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Acts like a person in the Slack client: signed requests to the bot, answers read back from the stand-in. */
export class SlackDriver implements ChatDriver {
  readonly platform = "slack";
  constructor(private readonly w: SlackWorld) {}

  nameOf = (id: string) => this.w.api.userName(id);

  snapshot(message: { blocks: Record<string, unknown>[] }): CardView {
    const read = readBlocks(message.blocks, this.nameOf);
    return { text: read.text, buttons: read.buttons.map((b) => b.label) };
  }

  /** Runs the command and waits for the real form to replace the "loading" modal. */
  async openForm(user: string, command = ""): Promise<StoredView> {
    const u = slackIdOf(user);
    const before = new Set(this.w.api.views.keys());
    const sent = await this.w.slack.command(u, command);
    if (sent.status !== 200) throw new Error(`/elevate answered ${sent.status}`);
    await this.w.settle();
    return eventually("the request form", () =>
      [...this.w.api.views.values()].find((v) => !before.has(v.id) && v.user === u && v.versions.length > 0),
    );
  }

  /** Picks roles in the form and waits for the form to be redrawn for them. */
  async pickRoles(user: string, form: StoredView, roleIds: string[]): Promise<StoredView> {
    const seen = form.versions.length;
    const sent = await this.w.slack.selectInModal(slackIdOf(user), form, "roles", roleIds);
    if (sent.status !== 200) throw new Error(`role pick answered ${sent.status}`);
    await this.w.settle();
    return eventually("the redrawn form", () => (form.versions.length > seen ? form : undefined));
  }

  async request(user: string, ask: Ask): Promise<Record<string, string>> {
    const roleIds = await Promise.all(ask.roles.map((key) => this.w.engine.role(key)));
    const form = await this.pickRoles(user, await this.openForm(user), roleIds);
    const duration = parseDuration(ask.duration);
    if (!duration.ok) throw new Error(duration.error);
    const values: Record<string, FieldValue> = {
      roles: { options: roleIds },
      duration: { option: String(duration.value) },
      justification: ask.justification ?? null,
    };
    if (ask.ticket !== undefined) values.ticket = ask.ticket;
    if (ask.start !== undefined) values[FIELDS.start] = ask.start;
    if (ask.childScope !== undefined) values[FIELDS.childScope] = ask.childScope;
    return this.submitted(await this.w.slack.submit(slackIdOf(user), form, values));
  }

  /** The field errors of a view_submission answer, keyed by field (block ids lose their suffixes). */
  async submitted(sent: Sent): Promise<Record<string, string>> {
    if (sent.status !== 200) throw new Error(`submission answered ${sent.status}: ${sent.text}`);
    await this.w.settle();
    const errors = (sent.json?.errors ?? {}) as Record<string, string>;
    return Object.fromEntries(Object.entries(errors).map(([block, message]) => [block.split(":")[0]!, message]));
  }

  private async approverMessage(user: string, via: "dm" | "channel" = "dm"): Promise<StoredMessage> {
    const message = await this.w.card(via === "dm" ? user : null, via === "dm" ? "approver" : "channel");
    if (!message) throw new Error(`${user} has no approval card (${via})`);
    return message;
  }

  async click(
    user: string,
    message: StoredMessage,
    actionId: string,
    stale = false,
    typed: Record<string, string> = {},
  ): Promise<Sent> {
    const sent = await this.w.slack.clickInMessage(
      slackIdOf(user),
      message,
      actionId,
      stale ? message.versions[0] : message,
      typed,
    );
    if (sent.status !== 200) throw new Error(`click answered ${sent.status}`);
    await this.w.settle();
    return sent;
  }

  async approve(user: string, opts: { stale?: boolean; via?: "dm" | "channel"; comment?: string } = {}): Promise<void> {
    const message = await this.approverMessage(user, opts.via);
    const box = message.blocks.find((b) => b.type === "input" && String(b.block_id).startsWith("comment."));
    const typed: Record<string, string> = opts.comment && box ? { [String(box.block_id)]: opts.comment } : {};
    await this.click(user, message, "pim.approve", opts.stale, typed);
  }

  async deny(user: string, comment: string): Promise<Record<string, string>> {
    const u = slackIdOf(user);
    const before = new Set(this.w.api.views.keys());
    await this.click(user, await this.approverMessage(user), "pim.deny");
    const modal = await eventually("the deny form", () =>
      [...this.w.api.views.values()].find((v) => !before.has(v.id) && v.user === u),
    );
    return this.submitted(await this.w.slack.submit(u, modal, { comment }));
  }

  async endNow(user: string): Promise<void> {
    const message = await this.w.card(user, "requester");
    if (!message) throw new Error(`${user} has no request card`);
    await this.click(user, message, "pim.end");
  }

  async cancel(user: string): Promise<void> {
    const message = await this.w.card(user, "requester");
    if (!message) throw new Error(`${user} has no request card`);
    await this.click(user, message, "pim.cancel");
  }

  async card(user: string | null, kind: CardKind): Promise<CardView | undefined> {
    await this.w.settle();
    const message = await this.w.card(user, kind);
    return message ? this.snapshot(message) : undefined;
  }

  async notes(user: string): Promise<string[]> {
    await this.w.settle();
    return this.w.api.ephemeralsFor(slackIdOf(user)).map((e) => this.snapshot(e).text || e.text);
  }
}

/** The scenario world over a Slack world: jobs, time and MFA go straight to the engine. */
export function slackScenarioWorld(w: SlackWorld): ScenarioWorld {
  return {
    driver: new SlackDriver(w),
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
