/**
 * Sends what Teams sends: Bot Framework activities posted over HTTP to the bot's /api/messages,
 * shaped like the ones Teams delivers (personal chats and channels, installs, Universal Actions).
 */
import type { BotConnectorStandIn } from "./connector.js";

type Json = Record<string, unknown>;

export const TENANT_ID = "0f0e0d0c-0b0a-4909-8807-060504030201";
export const BOT_ID = "28:pim-bot-test";

export interface TeamsUser {
  key: string;
  /** 29:… */
  id: string;
  name: string;
  aadObjectId: string;
}

export interface Sent {
  status: number;
  text: string;
  json: Json | undefined;
  /** The id the bot gave the request (x-request-id), which its log lines and messages name. */
  requestId: string | null;
}

export interface Where {
  conversationId: string;
  kind: "personal" | "channel" | "groupChat";
}

let sequence = 0;

export class TeamsSender {
  /** Sent with every activity when set: `Bearer <token>`. */
  authorization: string | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly connector: BotConnectorStandIn,
  ) {}

  /** The user's 1:1 chat with the bot: the one the bot opened for them, or the one Teams would make. */
  personal(user: TeamsUser): Where {
    return {
      conversationId: this.connector.createdFor(user.aadObjectId) ?? `a:dm-${user.aadObjectId}`,
      kind: "personal",
    };
  }

  activity(user: TeamsUser, where: Where, fields: Json): Json {
    const conversation: Json =
      where.kind === "personal"
        ? { id: where.conversationId, conversationType: "personal", tenantId: TENANT_ID }
        : { id: where.conversationId, conversationType: where.kind, isGroup: true, tenantId: TENANT_ID };
    return {
      id: `in-${++sequence}`,
      timestamp: new Date().toISOString(),
      channelId: "msteams",
      serviceUrl: this.connector.serviceUrl,
      from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
      recipient: { id: BOT_ID, name: "PIM" },
      conversation,
      channelData: {
        tenant: { id: TENANT_ID },
        ...(where.kind === "channel"
          ? { team: { id: "19:team@thread.tacv2" }, channel: { id: where.conversationId.split(";")[0] } }
          : {}),
      },
      locale: "en-US",
      ...fields,
    };
  }

  message(user: TeamsUser, text: string, where: Where = this.personal(user)): Promise<Sent> {
    return this.post(this.activity(user, where, { type: "message", text, textFormat: "plain" }));
  }

  /** A click on an Action.Execute button: the button's data with the card's inputs merged in, as Teams sends it. */
  click(user: TeamsUser, where: Where, messageId: string, verb: string, data: Json): Promise<Sent> {
    return this.post(
      this.activity(user, where, {
        type: "invoke",
        name: "adaptiveCard/action",
        replyToId: messageId,
        value: { action: { type: "Action.Execute", id: `action-${sequence}`, verb, data }, trigger: "manual" },
      }),
    );
  }

  /** The app added to a personal chat: Teams sends an installationUpdate and a conversationUpdate. */
  async install(user: TeamsUser): Promise<Sent[]> {
    const where = this.personal(user);
    return [
      await this.post(this.activity(user, where, { type: "installationUpdate", action: "add" })),
      await this.post(
        this.activity(user, where, {
          type: "conversationUpdate",
          membersAdded: [{ id: BOT_ID }, { id: user.id, aadObjectId: user.aadObjectId }],
        }),
      ),
    ];
  }

  /** The app added to a team: the channel's conversation is stored so posts can go there. */
  installInTeam(user: TeamsUser, channelId: string): Promise<Sent> {
    return this.post(
      this.activity(
        user,
        { conversationId: channelId, kind: "channel" },
        { type: "conversationUpdate", membersAdded: [{ id: BOT_ID }] },
      ),
    );
  }

  async post(activity: Json): Promise<Sent> {
    const res = await fetch(this.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.authorization ? { authorization: this.authorization } : {}),
      },
      body: JSON.stringify(activity),
    });
    const text = await res.text();
    let json: Json | undefined;
    try {
      json = text ? (JSON.parse(text) as Json) : undefined;
    } catch {
      json = undefined;
    }
    if (json?.type === "application/vnd.microsoft.card.adaptive")
      this.connector.checkAnswer(
        `invoke ${String((activity.value as Json | undefined)?.action && ((activity.value as Json).action as Json).verb)}`,
        json.value as Json,
      );
    return { status: res.status, text, json, requestId: res.headers.get("x-request-id") };
  }
}
