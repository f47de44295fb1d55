import { type TeamsChannelAccount, TeamsInfo, type TurnContext } from "botbuilder";
import type { Logger } from "pino";
import { type EngineDeps, inTransaction } from "../../app/context.js";
import { type Principal, principalByChatIdentity } from "../../db/repos/directory.js";

export interface TeamsIdentityOptions {
  /** How long an address read from the conversation's member list is trusted before it is asked again. */
  emailTtlMs: number;
}

interface CachedEmail {
  email: string | null;
  until: number;
}

/**
 * Maps the sender of an activity to a principal: by the Entra object id Teams puts on every
 * activity (`teamsId` in pim.yaml), else by the user's address from the Bot Connector's member
 * list (`TeamsInfo.getMember`). Never from anything the user typed or a card sent back.
 */
export class TeamsIdentity {
  private readonly emails = new Map<string, CachedEmail>();

  constructor(
    private readonly deps: EngineDeps,
    private readonly log: Logger,
    private readonly opts: TeamsIdentityOptions = { emailTtlMs: 10 * 60_000 },
  ) {}

  async resolve(turn: TurnContext): Promise<Principal | undefined> {
    const aad = turn.activity.from?.aadObjectId?.trim().toLowerCase();
    if (aad) {
      const byId = await principalByChatIdentity(this.deps.db, { teamsId: aad });
      if (byId) return byId;
    }
    const email = await this.memberEmail(turn);
    return email ? principalByChatIdentity(this.deps.db, { email }) : undefined;
  }

  /** Audits an attempt by someone PIM does not know; they are told politely by the caller. */
  async recordUnknown(turn: TurnContext, attempted: string): Promise<void> {
    const from = turn.activity.from;
    const email = this.emails.get(from?.id ?? "")?.email ?? null;
    await inTransaction(this.deps, async (work) =>
      work.audit({
        event: "chat.identity_unknown",
        actor: `teams:${from?.aadObjectId ?? from?.id ?? "unknown"}`,
        data: {
          platform: "teams",
          teamsUserId: from?.id ?? null,
          aadObjectId: from?.aadObjectId ?? null,
          email,
          attempted,
        },
      }),
    );
  }

  private async memberEmail(turn: TurnContext): Promise<string | null> {
    const userId = turn.activity.from?.id;
    if (!userId) return null;
    const now = this.deps.clock.now().getTime();
    const cached = this.emails.get(userId);
    if (cached && cached.until > now) return cached.email;
    let email: string | null = null;
    try {
      const member: TeamsChannelAccount = await TeamsInfo.getMember(turn, userId);
      email = (member.email || member.userPrincipalName || "").trim() || null;
    } catch (error) {
      this.log.warn({ err: error, teamsUserId: userId }, "getMember failed; treating the user as unknown for now");
      return null;
    }
    this.emails.set(userId, { email, until: now + this.opts.emailTtlMs });
    return email;
  }
}

export const UNKNOWN_USER_TEXT =
  "I don't know who you are in PIM yet, so I can't do that. Ask a PIM administrator to add your Microsoft Entra " +
  "object id (teamsId) or your email to pim.yaml.";
