/**
 * Slack's side of the conversation: signed HTTP requests to the bot's POST /slack/events, shaped
 * like the payloads Slack sends (slash commands and interactions as form posts, events as JSON).
 */
import { createHmac, randomBytes } from "node:crypto";
import type { SlackApiStandIn, StoredMessage, StoredView } from "./slack-api.js";
import { BOT_USER } from "./slack-api.js";

type Json = Record<string, unknown>;

export const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const TEAM = { id: "T0PIM", domain: "pim-test" };

export interface Sent {
  status: number;
  text: string;
  json: Json | undefined;
  /** The id the bot gave the request (x-request-id), which its log lines and messages name. */
  requestId: string | null;
  ms: number;
}

export function sign(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
}

/** A field value for a form submission: typed text, one option, or several. */
export type FieldValue = string | null | { option: string } | { options: string[] };

export class SlackSender {
  constructor(
    readonly url: string,
    private readonly api: SlackApiStandIn,
    private readonly secret = SIGNING_SECRET,
  ) {}

  /** Posts a body exactly as given, signed (or mis-signed) as asked: for the security tests. */
  async raw(
    body: string,
    contentType: string,
    opts: { timestamp?: number; signature?: string; secret?: string } = {},
  ): Promise<Sent> {
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = opts.signature ?? sign(opts.secret ?? this.secret, timestamp, body);
    const started = performance.now();
    const res = await fetch(this.url, {
      method: "POST",
      headers: {
        "content-type": contentType,
        "x-slack-request-timestamp": String(timestamp),
        "x-slack-signature": signature,
      },
      body,
    });
    const text = await res.text();
    const ms = performance.now() - started;
    let json: Json | undefined;
    try {
      json = text ? (JSON.parse(text) as Json) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json, ms, requestId: res.headers.get("x-request-id") };
  }

  /** A slash command typed by `user` in `channel` (a DM with the app unless said otherwise). */
  async command(user: string, text: string, channel = this.api.dmChannel(user), command = "/elevate"): Promise<Sent> {
    const body = new URLSearchParams({
      token: "legacy-verification-token",
      team_id: TEAM.id,
      team_domain: TEAM.domain,
      channel_id: channel,
      channel_name: "directmessage",
      user_id: user,
      user_name: user.toLowerCase(),
      command,
      text,
      api_app_id: "A0PIM",
      is_enterprise_install: "false",
      response_url: this.api.responseUrl(user, channel),
      trigger_id: this.api.mintTrigger(user),
    }).toString();
    return this.raw(body, "application/x-www-form-urlencoded");
  }

  /** A click on a button of a posted message (the version given, so stale clicks can be made). */
  async clickInMessage(
    user: string,
    message: StoredMessage,
    actionId: string,
    version: { blocks: Json[] } = message,
    /** What the clicker typed in the message's input blocks, by block id (the comment box). */
    typed: Record<string, string> = {},
    /** Which of several buttons with this action id (one per row of a list) was clicked, by its value. */
    value?: string,
  ): Promise<Sent> {
    const found = findButton(version.blocks, actionId, undefined, value);
    if (!found) throw new Error(`no button ${actionId} in that message`);
    return this.interaction({
      type: "block_actions",
      user: userOf(user),
      api_app_id: "A0PIM",
      token: "legacy-verification-token",
      container: { type: "message", message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
      trigger_id: this.api.mintTrigger(user),
      team: TEAM,
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: message.channel, name: message.channel.startsWith("D") ? "directmessage" : "pim-approvals" },
      message: { type: "message", ts: message.ts, text: "", blocks: version.blocks },
      state: { values: messageInputs(version.blocks, typed) },
      response_url: this.api.responseUrl(user, message.channel),
      actions: [{ ...buttonAction(found.button), block_id: found.blockId }],
    });
  }

  /** A click on a button of a view (a modal or the home tab). */
  async clickInView(user: string, view: Json & { id?: string }, actionId: string, label?: string): Promise<Sent> {
    const blocks = (view.blocks as Json[]) ?? [];
    const found = findButton(blocks, actionId, label);
    if (!found) throw new Error(`no button ${actionId} in that view`);
    return this.interaction({
      type: "block_actions",
      user: userOf(user),
      api_app_id: "A0PIM",
      token: "legacy-verification-token",
      container: { type: "view", view_id: view.id ?? "VH" },
      trigger_id: this.api.mintTrigger(user),
      team: TEAM,
      is_enterprise_install: false,
      view: { ...view, id: view.id ?? `VH${user}`, state: { values: {} }, hash: "h" },
      actions: [{ ...buttonAction(found.button), block_id: found.blockId }],
    });
  }

  /** Picking options in a dispatching select of an open modal (the request form's roles). */
  async selectInModal(user: string, stored: StoredView, blockId: string, values: string[]): Promise<Sent> {
    const block = inputBlock(stored.view, blockId);
    const element = block.element as Json;
    const selected = values.map((v) => optionFor(element, v));
    return this.interaction({
      type: "block_actions",
      user: userOf(user),
      api_app_id: "A0PIM",
      token: "legacy-verification-token",
      container: { type: "view", view_id: stored.id },
      trigger_id: this.api.mintTrigger(user),
      team: TEAM,
      is_enterprise_install: false,
      view: viewPayload(stored, { [blockId]: { options: values } }),
      actions: [
        {
          type: element.type,
          action_id: element.action_id,
          block_id: block.block_id,
          selected_options: selected,
          action_ts: `${Date.now() / 1000}`,
        },
      ],
    });
  }

  async submit(user: string, stored: StoredView, values: Record<string, FieldValue>): Promise<Sent> {
    return this.interaction({
      type: "view_submission",
      team: TEAM,
      user: userOf(user),
      api_app_id: "A0PIM",
      token: "legacy-verification-token",
      trigger_id: this.api.mintTrigger(user),
      view: viewPayload(stored, values),
      response_urls: [],
      is_enterprise_install: false,
    });
  }

  async suggest(user: string, stored: StoredView, blockId: string, query: string): Promise<Sent> {
    const block = inputBlock(stored.view, blockId);
    return this.interaction({
      type: "block_suggestion",
      user: userOf(user),
      container: { type: "view", view_id: stored.id },
      api_app_id: "A0PIM",
      token: "legacy-verification-token",
      action_id: (block.element as Json).action_id,
      block_id: block.block_id,
      value: query,
      team: TEAM,
      view: viewPayload(stored, {}),
    });
  }

  async homeOpened(user: string): Promise<Sent> {
    const body = JSON.stringify({
      token: "legacy-verification-token",
      team_id: TEAM.id,
      api_app_id: "A0PIM",
      event: {
        type: "app_home_opened",
        user,
        channel: this.api.dmChannel(user),
        tab: "home",
        event_ts: `${Date.now() / 1000}`,
      },
      type: "event_callback",
      event_id: `Ev${randomBytes(6).toString("hex")}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: TEAM.id, user_id: BOT_USER, is_bot: true, is_enterprise_install: false }],
    });
    return this.raw(body, "application/json");
  }

  /** Interactions arrive as a form post with one field, `payload`, holding the JSON. */
  interaction(payload: Json): Promise<Sent> {
    return this.raw(
      new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
      "application/x-www-form-urlencoded",
    );
  }
}

function userOf(id: string): Json {
  return { id, username: id.toLowerCase(), name: id.toLowerCase(), team_id: TEAM.id };
}

function buttonAction(button: Json): Json {
  return {
    type: "button",
    action_id: button.action_id,
    text: button.text,
    ...(button.value !== undefined ? { value: button.value } : {}),
    ...(button.style !== undefined ? { style: button.style } : {}),
    action_ts: `${Date.now() / 1000}`,
  };
}

/** The first button whose action id is `id` or one of its numbered twins (`pim.end:1`). */
export function findButton(
  blocks: Json[],
  id: string,
  label?: string,
  value?: string,
): { button: Json; blockId: string } | undefined {
  for (const [i, block] of blocks.entries()) {
    if (block.type !== "actions") continue;
    for (const el of (block.elements as Json[]) ?? []) {
      const actionId = String(el.action_id ?? "");
      if (label !== undefined && (el.text as Json)?.text !== label) continue;
      if (value !== undefined && (el.value ?? "") !== value) continue;
      if (actionId === id || actionId.startsWith(`${id}:`))
        return { button: el, blockId: String(block.block_id ?? `b${i}`) };
    }
  }
  return undefined;
}

function inputBlock(view: Json, blockId: string): Json {
  const block = ((view.blocks as Json[]) ?? []).find(
    (b) => b.type === "input" && (b.block_id === blockId || String(b.block_id).startsWith(`${blockId}:`)),
  );
  if (!block) throw new Error(`no input block ${blockId} in the view`);
  return block;
}

function optionFor(element: Json, value: string): Json {
  const known = ((element.options as Json[]) ?? []).find((o) => o.value === value);
  return known ?? { text: { type: "plain_text", text: value }, value };
}

/** The view as Slack sends it back: its blocks, and the state of every input in it. */
function viewPayload(stored: StoredView, given: Record<string, FieldValue>): Json {
  const values: Record<string, Record<string, Json>> = {};
  for (const block of (stored.view.blocks as Json[]) ?? []) {
    if (block.type !== "input") continue;
    const blockId = String(block.block_id);
    const element = block.element as Json;
    const key = Object.keys(given).find((k) => k === blockId || blockId.startsWith(`${k}:`));
    const value = key === undefined ? undefined : given[key];
    const actionId = String(element.action_id);
    switch (element.type) {
      case "plain_text_input":
        values[blockId] = {
          [actionId]: {
            type: "plain_text_input",
            value: typeof value === "string" ? value : (element.initial_value ?? null),
          },
        };
        break;
      case "static_select": {
        const picked =
          value && typeof value === "object" && "option" in value
            ? optionFor(element, value.option)
            : element.initial_option;
        values[blockId] = { [actionId]: { type: "static_select", selected_option: picked ?? null } };
        break;
      }
      default: {
        const picked =
          value && typeof value === "object" && "options" in value
            ? value.options.map((v) => optionFor(element, v))
            : ((element.initial_options as Json[]) ?? []);
        values[blockId] = { [actionId]: { type: element.type, selected_options: picked } };
      }
    }
  }
  return {
    id: stored.id,
    team_id: TEAM.id,
    type: "modal",
    blocks: stored.view.blocks,
    private_metadata: stored.view.private_metadata ?? "",
    callback_id: stored.view.callback_id ?? "",
    state: { values },
    hash: stored.hash,
    title: stored.view.title,
    close: stored.view.close,
    submit: stored.view.submit,
    previous_view_id: null,
    root_view_id: stored.id,
    app_id: "A0PIM",
    external_id: "",
    app_installed_team_id: TEAM.id,
    bot_id: "B0PIMBOT",
  };
}

/** The state Slack sends with a click in a message that has input blocks: each input's value, or null. */
function messageInputs(blocks: Json[], typed: Record<string, string>): Json {
  const values: Json = {};
  for (const block of blocks) {
    if (block.type !== "input") continue;
    const blockId = String(block.block_id);
    const element = block.element as Json;
    values[blockId] = { [String(element.action_id)]: { type: element.type, value: typed[blockId] ?? null } };
  }
  return values;
}
