import type { Activity, CloudAdapter, ConversationParameters, ConversationReference } from "botbuilder";
import type { Logger } from "pino";
import type { PersonView } from "../../app/activation/views.js";
import type { EngineDeps } from "../../app/kernel/unit-of-work.js";
import {
  latestTeamsConversation,
  personalConversationOf,
  reachableTeamsPrincipals,
  saveTeamsConversation,
  type TeamsConversation,
  type TeamsConversationKind,
  teamsConversationById,
} from "../../app/notices/chat-messages.js";
import { PUBLIC_CLOUD } from "./adapter.js";

/** Where new conversations are created when no stored one tells the region (Microsoft's global endpoint). */
export const GLOBAL_SERVICE_URL = "https://smba.trafficmanager.net/teams/";

export interface TeamsConversationsOptions {
  /** The bot's Microsoft app id; "" when authentication is off. */
  appId: string;
  /** The tenant new 1:1 chats are created in when none is known from a stored conversation. */
  tenantId: string | null;
  defaultServiceUrl: string;
}

/** A channel post's conversation id carries the thread: `19:…@thread.tacv2;messageid=…`. */
export const baseConversationId = (id: string) => id.split(";")[0]!;

/**
 * Conversation references: stored whenever the bot hears from a conversation, and used to
 * reach people proactively. A person with no stored chat gets one created from their Entra
 * object id, in the tenant and region the bot last saw.
 */
export class TeamsConversations {
  private readonly reachable = new Set<string>();

  constructor(
    private readonly deps: Pick<EngineDeps, "db" | "clock">,
    private readonly adapter: CloudAdapter,
    private readonly log: Logger,
    private readonly opts: TeamsConversationsOptions,
  ) {}

  async load(): Promise<void> {
    for (const id of await reachableTeamsPrincipals(this.deps.db)) this.reachable.add(id);
  }

  /** Whether a person can be reached without guessing: an Entra id, or a personal chat already on file. */
  canReach(person: Pick<PersonView, "id" | "teamsId">): boolean {
    return Boolean(person.teamsId) || this.reachable.has(person.id);
  }

  /**
   * Stores the reference an incoming activity carries (every message, click and install
   * refreshes it); true when the conversation was not known before.
   */
  async remember(activity: Partial<Activity>, principalId: string | null): Promise<boolean> {
    const conversation = activity.conversation;
    if (!conversation?.id || !activity.serviceUrl) return false;
    const kind = kindOf(conversation.conversationType);
    const personal = kind === "personal";
    const tenantId =
      conversation.tenantId ?? (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id ?? null;
    const ref: TeamsConversation = {
      conversationId: baseConversationId(conversation.id),
      kind,
      aadObjectId: personal ? (activity.from?.aadObjectId?.toLowerCase() ?? null) : null,
      userId: personal ? (activity.from?.id ?? null) : null,
      principalId: personal ? principalId : null,
      tenantId,
      serviceUrl: activity.serviceUrl,
      botId: activity.recipient?.id ?? null,
    };
    const inserted = await saveTeamsConversation(this.deps.db, ref, this.deps.clock.now());
    if (personal && principalId) this.reachable.add(principalId);
    return inserted;
  }

  /** The reference to post into a conversation: the stored one, else the latest region and bot id seen. */
  async referenceFor(conversationId: string): Promise<Partial<ConversationReference>> {
    const id = baseConversationId(conversationId);
    const stored = await teamsConversationById(this.deps.db, id);
    const fallback = stored ?? (await latestTeamsConversation(this.deps.db, this.opts.tenantId));
    return {
      channelId: "msteams",
      serviceUrl: fallback?.serviceUrl ?? this.opts.defaultServiceUrl,
      conversation: {
        id: conversationId,
        isGroup: stored ? stored.kind !== "personal" : id.startsWith("19:"),
        conversationType: stored?.kind ?? (id.startsWith("19:") ? "channel" : "personal"),
        tenantId: stored?.tenantId ?? fallback?.tenantId ?? this.opts.tenantId ?? undefined,
        name: "",
      },
      bot: { id: fallback?.botId ?? `28:${this.opts.appId}`, name: "" },
    };
  }

  /** The Teams user id (29:…) of a personal chat, which a card's refresh clause names. */
  async userIdIn(conversationId: string): Promise<string | null> {
    return (await teamsConversationById(this.deps.db, baseConversationId(conversationId)))?.userId ?? null;
  }

  /** The 1:1 chat with a person: the stored one, else a new one created from their Entra object id. */
  async directWith(person: Pick<PersonView, "id" | "teamsId">): Promise<string | null> {
    const stored = await personalConversationOf(this.deps.db, { aadObjectId: person.teamsId, principalId: person.id });
    if (stored) return stored.conversationId;
    if (!person.teamsId) return null;
    return this.open(person.teamsId.toLowerCase(), person.id);
  }

  private async open(aadObjectId: string, principalId: string): Promise<string | null> {
    const latest = await latestTeamsConversation(this.deps.db, this.opts.tenantId);
    const tenantId = this.opts.tenantId ?? latest?.tenantId ?? null;
    const serviceUrl = latest?.serviceUrl ?? this.opts.defaultServiceUrl;
    const botId = latest?.botId ?? `28:${this.opts.appId}`;
    const params: ConversationParameters = {
      isGroup: false,
      bot: { id: botId, name: "" },
      members: [{ id: aadObjectId, name: "" }],
      ...(tenantId ? { tenantId } : {}),
      channelData: tenantId ? { tenant: { id: tenantId } } : {},
    };
    let created: string | null = null;
    await this.adapter.createConversationAsync(
      this.opts.appId,
      "msteams",
      serviceUrl,
      PUBLIC_CLOUD.oAuthScope,
      params,
      async (turn) => {
        created = turn.activity.conversation?.id ?? null;
      },
    );
    if (!created) return null;
    await saveTeamsConversation(
      this.deps.db,
      {
        conversationId: created,
        kind: "personal",
        aadObjectId,
        userId: null,
        principalId,
        tenantId,
        serviceUrl,
        botId,
      },
      this.deps.clock.now(),
    );
    this.reachable.add(principalId);
    this.log.info({ principalId, conversationId: created }, "opened a Teams chat to reach a person");
    return created;
  }
}

function kindOf(conversationType: string | undefined): TeamsConversationKind {
  if (conversationType === "channel") return "channel";
  if (conversationType === "groupChat") return "groupChat";
  return "personal";
}
