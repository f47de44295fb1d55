import { type TeamsChannelAccount, TeamsInfo, type TurnContext } from "botbuilder";
import type { Logger } from "pino";
import type { Principal } from "../../app/kernel/chat-identity.js";
import {
  principalOfPlatformId,
  recordRefusedSender,
  recordUnknownSender,
  resolveChatSender,
} from "../../app/kernel/chat-identity.js";
import type { EngineDeps } from "../../app/kernel/unit-of-work.js";
import { ExpiringCache } from "../expiring-cache.js";

export interface TeamsIdentityOptions {
  /** How long an address read from the conversation's member list is trusted before it is asked again. */
  emailTtlMs: number;
  /**
   * The Entra tenants served (lower case). null serves any tenant: only without authentication,
   * on one's own machine.
   */
  tenants?: string[] | null;
}

/**
 * Maps the sender of an activity to a principal: by the Entra object id Teams puts on every
 * activity (`teamsId` in pim.yaml, or linked earlier), else by linking the user's address from
 * the Bot Connector's member list (`TeamsInfo.getMember`) to a principal that has no Teams id
 * yet. Never from anything the user typed or a card sent back. Activities from other tenants or
 * channels are refused before any of this (see `admits`).
 */
export class TeamsIdentity {
  private readonly emails: ExpiringCache<string | null>;
  private readonly tenants: Set<string> | null;

  constructor(
    private readonly deps: EngineDeps,
    private readonly log: Logger,
    opts: TeamsIdentityOptions = { emailTtlMs: 10 * 60_000 },
  ) {
    this.emails = new ExpiringCache(deps.clock, opts.emailTtlMs);
    this.tenants = opts.tenants ? new Set(opts.tenants.map((t) => t.trim().toLowerCase())) : null;
  }

  /**
   * Whether the activity comes from Teams in a tenant served. Checked first on every turn: a
   * refused activity is audited and gets no answer, no lookup and no stored conversation.
   */
  async admits(turn: TurnContext): Promise<boolean> {
    const activity = turn.activity;
    const tenant = tenantOf(turn);
    const code =
      activity.channelId !== "msteams"
        ? "CHANNEL_NOT_SERVED"
        : this.tenants && !(tenant && this.tenants.has(tenant))
          ? "TENANT_NOT_SERVED"
          : null;
    if (!code) return true;
    await recordRefusedSender(this.deps, {
      platform: "teams",
      actor: activity.from?.aadObjectId ?? activity.from?.id ?? "unknown",
      code,
      data: { channelId: activity.channelId ?? null, tenantId: tenant, activityType: activity.type ?? null },
    });
    return false;
  }

  async resolve(turn: TurnContext): Promise<Principal | undefined> {
    const aad = turn.activity.from?.aadObjectId?.trim().toLowerCase();
    // The Entra object id is the identity; a sender without one is nobody PIM knows.
    if (!aad) return undefined;
    const byId = await principalOfPlatformId(this.deps.db, "teams", aad);
    if (byId) return byId;
    const email = await this.memberEmail(turn);
    if (!email) return undefined;
    // The member list is the tenant's own directory, and only tenants served reach this point.
    return resolveChatSender(this.deps, { platform: "teams", platformId: aad, email, emailConfirmed: true });
  }

  /** Audits an attempt by someone PIM does not know; they are told politely by the caller. */
  async recordUnknown(turn: TurnContext, attempted: string): Promise<void> {
    const from = turn.activity.from;
    const email = this.emails.kept(from?.id ?? "")?.value ?? null;
    await recordUnknownSender(this.deps, {
      platform: "teams",
      actor: from?.aadObjectId ?? from?.id ?? "unknown",
      attempted,
      data: { teamsUserId: from?.id ?? null, aadObjectId: from?.aadObjectId ?? null, email },
    });
  }

  private async memberEmail(turn: TurnContext): Promise<string | null> {
    const userId = turn.activity.from?.id;
    if (!userId) return null;
    return this.emails
      .get(userId, async () => {
        const member: TeamsChannelAccount = await TeamsInfo.getMember(turn, userId);
        return (member.email || member.userPrincipalName || "").trim() || null;
      })
      .catch((error) => {
        this.log.warn({ err: error, teamsUserId: userId }, "getMember failed; treating the user as unknown for now");
        return null;
      });
  }
}

/** The tenant an activity comes from, as Teams states it (channel data and conversation must agree). */
function tenantOf(turn: TurnContext): string | null {
  const activity = turn.activity;
  const fromChannel = (activity.channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
  const named = [typeof fromChannel === "string" ? fromChannel : null, activity.conversation?.tenantId ?? null]
    .map((t) => t?.trim().toLowerCase() || null)
    .filter((t): t is string => t !== null);
  if (named.length === 0 || named.some((t) => t !== named[0])) return null;
  return named[0]!;
}

export const UNKNOWN_USER_TEXT =
  "I don't know who you are in PIM yet, so I can't do that. Ask a PIM administrator to add your Microsoft Entra " +
  "object id (teamsId) or your email to pim.yaml.";
