/**
 * A person's hands on one platform, for tests that run the same action on Slack and on Teams:
 * type the command, click a button someone was shown, fill in and send an open form, and count
 * what each person has been shown. Every action goes over HTTP to the composed bot, exactly as
 * the platform would send it; every answer is read back from the platform's stand-in.
 */
import { ACTIONS, FORMS } from "../../src/chat/views/action-ids.js";
import { parseDuration } from "../../src/domain/duration.js";
import type { StoredMessage, StoredView } from "./slack/slack-api.js";
import type { FieldValue, Sent as SlackSent } from "./slack/slack-sender.js";
import type { StoredActivity } from "./teams/connector.js";
import { cardOf, fieldErrors, readCard } from "./teams/read-card.js";
import type { Where } from "./teams/teams-sender.js";
import { type Platform, SLACK_PEOPLE, TEAMS_PEOPLE, type World } from "./world.js";

type Json = Record<string, unknown>;

/** What a person types into a form, in the words of the form (role keys, durations such as "1h"). */
export interface FormValues {
  roles?: string[];
  duration?: string;
  justification?: string;
  ticket?: string;
  comment?: string;
  reason?: string;
  /** The assignment form: who (a key, an e-mail or a mention), the role (its key) at a scope, kind, start and end as typed. */
  principal?: string;
  target?: { role: string; scope: string };
  kind?: "eligible" | "active";
  start?: string;
  end?: string;
}

/** The value the assignment form's role-and-scope choice sends back. */
const targetValue = async (w: World, target: { role: string; scope: string }) =>
  `${await w.engine.role(target.role)}|${target.scope}`;

export interface Hands {
  readonly platform: Platform;
  /** `/elevate <text>` on Slack, `elevate <text>` in the person's Teams chat with the bot. */
  type(user: string, text: string): Promise<void>;
  /** Clicks the newest button for `action` about `value` among what `user` was shown (their chat, a channel). */
  click(user: string, action: string, value: string, opts?: { comment?: string }): Promise<void>;
  /** Fills in and sends the form `user` has open; returns the errors shown under its fields. */
  submit(user: string, form: string, values: FormValues): Promise<Record<string, string>>;
  /** How many things `user` has been shown on this platform so far (messages, updates, forms, answers). */
  shown(user: string): number;
}

const DEADLINE_MS = 5_000;

async function eventually<T>(what: string, find: () => T | undefined): Promise<T> {
  const until = Date.now() + DEADLINE_MS;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function durationMs(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return String(parsed.value);
}

/** How many versions of a message said something its previous version did not (a redraw to the same content is not news). */
function changes(versions: unknown[]): number {
  return versions.filter((v, i) => i === 0 || JSON.stringify(v) !== JSON.stringify(versions[i - 1])).length;
}

const roleIdsOf = (w: World, keys: string[] | undefined) => Promise.all((keys ?? []).map((k) => w.engine.role(k)));

/** Channels a person may click in besides their own chat, as the fixture names them. */
const SLACK_CHANNELS = ["C0ALERTS", "C0APPROVALS", "C0DEPLOYAPPR"];
const TEAMS_CHANNELS = [
  "19:pim-alerts@thread.tacv2",
  "19:pim-approvals@thread.tacv2",
  "19:deploy-approvals@thread.tacv2",
];

export function slackHands(w: World): Hands {
  const api = w.slackApi!;
  const slack = w.slack!;
  const idOf = (key: string) => {
    const p = SLACK_PEOPLE.find((x) => x.key === key);
    if (!p) throw new Error(`no Slack user ${key}`);
    return p.id;
  };
  /** What Slack showed a person outside the stand-in's records: a command's answer on its ack, a clicked channel card redrawn. */
  const answered = new Map<string, number>();
  const answer = (user: string) => answered.set(user, (answered.get(user) ?? 0) + 1);
  const ok = async (sent: SlackSent, what: string) => {
    if (sent.status !== 200) throw new Error(`${what} answered ${sent.status}: ${sent.text}`);
    await w.settle();
    return sent;
  };
  const buttonIn = (blocks: Json[], action: string, value: string) => {
    for (const block of blocks) {
      if (block.type !== "actions") continue;
      for (const el of (block.elements as Json[]) ?? []) {
        const id = String(el.action_id ?? "");
        if ((id === action || id.startsWith(`${action}:`)) && (el.value ?? "") === value) return id;
      }
    }
    return undefined;
  };
  return {
    platform: "slack",
    async type(user, text) {
      const sent = await ok(await slack.command(idOf(user), text), `/elevate ${text}`);
      if (sent.json?.text || sent.json?.blocks) answer(user);
    },
    async click(user, action, value, opts = {}) {
      const u = idOf(user);
      const inChannels = [api.dmChannel(u), ...SLACK_CHANNELS].flatMap((c) => api.messagesIn(c));
      const ephemerals: StoredMessage[] = api.ephemeralsFor(u).map((e, i) => ({
        channel: e.channel ?? api.dmChannel(u),
        ts: `ephemeral.${i}`,
        text: e.text,
        blocks: e.blocks,
        versions: [],
      }));
      const candidates = [...inChannels, ...ephemerals].reverse();
      for (const message of candidates) {
        const id = buttonIn(message.blocks, action, value);
        if (!id) continue;
        const box = message.blocks.find((b) => b.type === "input" && String(b.block_id).startsWith("comment."));
        const typed = opts.comment && box ? { [String(box.block_id)]: opts.comment } : {};
        const versions = message.versions.length;
        await ok(await slack.clickInMessage(u, message, id, message, typed, value), `a click on ${action}`);
        const channelCardRedrawn =
          message.channel !== api.dmChannel(u) && changes(message.versions.slice(versions - 1)) > 1;
        if (channelCardRedrawn) answer(user);
        return;
      }
      throw new Error(`${user} was shown no ${action} button for ${value} on Slack`);
    },
    async submit(user, form, values) {
      const u = idOf(user);
      let view = await eventually(`the ${form} form`, () =>
        [...api.views.values()].filter((v) => v.user === u && v.view.callback_id === form).at(-1),
      );
      const roleIds = await roleIdsOf(w, values.roles);
      if (roleIds.length > 0) view = await pickRoles(u, view, roleIds);
      const fields: Record<string, FieldValue> = {};
      if (values.roles) fields.roles = { options: roleIds };
      const duration = durationMs(values.duration);
      if (duration) fields.duration = { option: duration };
      for (const key of ["justification", "ticket", "comment", "reason", "principal", "start", "end"] as const)
        if (values[key] !== undefined) fields[key] = values[key]!;
      if (values.target) fields.target = { option: await targetValue(w, values.target) };
      if (values.kind) fields.kind = { option: values.kind };
      const sent = await ok(await slack.submit(u, view, fields), `the ${form} form`);
      const errors = (sent.json?.errors ?? {}) as Record<string, string>;
      return Object.fromEntries(Object.entries(errors).map(([block, message]) => [block.split(":")[0]!, message]));
    },
    shown(user) {
      const u = idOf(user);
      return (
        api.ephemeralsFor(u).length +
        api.messagesIn(api.dmChannel(u)).reduce((n, m) => n + changes(m.versions.map((v) => v.blocks)), 0) +
        [...api.views.values()].filter((v) => v.user === u).reduce((n, v) => n + 1 + v.versions.length, 0) +
        api.callsOf("views.publish").filter((c) => c.args.user_id === u).length +
        (answered.get(user) ?? 0)
      );
    },
  };

  async function pickRoles(u: string, view: StoredView, roleIds: string[]): Promise<StoredView> {
    const seen = view.versions.length;
    await ok(await slack.selectInModal(u, view, "roles", roleIds), "picking roles");
    return eventually("the redrawn form", () => (view.versions.length > seen ? view : undefined));
  }
}

export function teamsHands(w: World): Hands {
  const connector = w.connector!;
  const teams = w.teams!;
  const answered = new Map<string, number>();
  const userOf = (key: string) => {
    const p = TEAMS_PEOPLE.find((x) => x.key === key);
    if (!p) throw new Error(`no Teams user ${key}`);
    return p;
  };
  const chatOf = (key: string) => teams.personal(userOf(key)).conversationId;
  const whereOf = (message: StoredActivity): Where =>
    TEAMS_CHANNELS.includes(message.conversationId)
      ? { conversationId: `${message.conversationId};messageid=${message.id}`, kind: "channel" }
      : { conversationId: message.conversationId, kind: "personal" };
  const inputsOf = (card: Json, typed: Json): Json => {
    const values: Json = {};
    for (const input of readCard(card).inputs) if (input.value !== undefined) values[input.id] = input.value;
    return { ...values, ...typed };
  };
  /** Clicks a button of a card in the chat; counts the answer as shown when it says something new. */
  const press = async (user: string, message: StoredActivity, verb: string, data: Json, typed: Json) => {
    const card = cardOf(message.activity)!;
    const sent = await teams.click(userOf(user), whereOf(message), message.id, verb, {
      ...inputsOf(card, typed),
      ...data,
    });
    if (sent.status !== 200) throw new Error(`a click on ${verb} answered ${sent.status}: ${sent.text}`);
    await w.settle();
    const answer = sent.json?.type === "application/vnd.microsoft.card.adaptive" ? (sent.json.value as Json) : null;
    if (answer && readCard(answer).text !== readCard(card).text) answered.set(user, (answered.get(user) ?? 0) + 1);
    return answer;
  };
  const newestWith = (user: string, match: (b: { verb: string | undefined; data: Json }) => boolean) => {
    const messages = [chatOf(user), ...TEAMS_CHANNELS].flatMap((c) => connector.inConversation(c)).reverse();
    for (const message of messages) {
      const card = cardOf(message.activity);
      const button = card && readCard(card).buttons.find(match);
      if (button) return { message, button };
    }
    return undefined;
  };
  return {
    platform: "teams",
    async type(user, text) {
      const sent = await teams.message(userOf(user), `elevate ${text}`.trim());
      if (sent.status !== 200) throw new Error(`"elevate ${text}" answered ${sent.status}: ${sent.text}`);
      await w.settle();
    },
    async click(user, action, value, opts = {}) {
      const found = newestWith(user, (b) => b.verb === action && (b.data.value ?? "") === value);
      if (!found) throw new Error(`${user} was shown no ${action} button for ${value} on Teams`);
      const box = readCard(cardOf(found.message.activity)!).inputs.find((i) => i.id.startsWith("comment."));
      await press(
        user,
        found.message,
        action,
        found.button.data,
        opts.comment && box ? { [box.id]: opts.comment } : {},
      );
    },
    async submit(user, form, values) {
      // Teams has no deny form: the reason is typed in the comment box next to the card's Deny button.
      const verb = form === FORMS.deny ? ACTIONS.deny : form;
      const found = await eventually(`the ${form} form`, () => newestWith(user, (b) => b.verb === verb));
      const typed: Json = {};
      if (values.roles) typed.roles = (await roleIdsOf(w, values.roles)).join(",");
      const duration = durationMs(values.duration);
      if (duration) typed.duration = duration;
      for (const key of ["justification", "ticket", "reason", "principal", "kind", "start", "end"] as const)
        if (values[key] !== undefined) typed[key] = values[key];
      if (values.target) typed.target = await targetValue(w, values.target);
      if (values.comment !== undefined) {
        const box = readCard(cardOf(found.message.activity)!).inputs.find((i) => i.id.startsWith("comment."));
        typed[box?.id ?? "comment"] = values.comment;
      }
      const answer = await press(user, found.message, verb, found.button.data, typed);
      if (!answer) return {};
      const errors = fieldErrors(answer);
      const alerts = readCard(answer).alerts;
      return form === FORMS.deny && alerts.length > 0 ? { comment: alerts.join(" ") } : errors;
    },
    shown(user) {
      return (
        connector.inConversation(chatOf(user)).reduce((n, m) => n + changes(m.versions.map(cardOf)), 0) +
        (answered.get(user) ?? 0)
      );
    },
  };
}

export const handsFor = (w: World, platform: Platform): Hands => (platform === "slack" ? slackHands(w) : teamsHands(w));
