import type { webApi } from "@slack/bolt";
import type { Logger } from "pino";
import { type EngineDeps, inTransaction } from "../../app/context.js";
import { type Principal, principalByChatIdentity } from "../../db/repos/directory.js";

export interface SlackIdentityOptions {
  /** How long a user's verified email from users.info is trusted before it is asked again. */
  emailTtlMs: number;
  /**
   * How long a resolved principal is reused. Every click is checked again by the engine against
   * the current policy; the cache only spares a lookup per request, and a change to pim.yaml
   * reaches chat within this time.
   */
  principalTtlMs: number;
}

interface Cached<T> {
  value: T;
  until: number;
}

/**
 * Maps the verified Slack user id of a request to a principal: by the Slack id in pim.yaml, else
 * by the user's confirmed email from users.info. Never from anything the user typed.
 */
export class SlackIdentity {
  private readonly emails = new Map<string, Cached<string | null>>();
  private readonly principals = new Map<string, Cached<Principal>>();

  constructor(
    private readonly deps: EngineDeps,
    private readonly client: webApi.WebClient,
    private readonly log: Logger,
    private readonly opts: SlackIdentityOptions = { emailTtlMs: 10 * 60_000, principalTtlMs: 30_000 },
  ) {}

  async resolve(slackUserId: string): Promise<Principal | undefined> {
    const now = this.deps.clock.now().getTime();
    const cached = this.principals.get(slackUserId);
    if (cached && cached.until > now) return cached.value;
    const found = await this.lookUp(slackUserId);
    // Only known people are remembered: someone added to pim.yaml is recognised at once.
    if (found) this.principals.set(slackUserId, { value: found, until: now + this.opts.principalTtlMs });
    else this.principals.delete(slackUserId);
    return found;
  }

  private async lookUp(slackUserId: string): Promise<Principal | undefined> {
    const byId = await principalByChatIdentity(this.deps.db, { slackId: slackUserId });
    if (byId) return byId;
    const email = await this.verifiedEmail(slackUserId);
    return email ? principalByChatIdentity(this.deps.db, { email }) : undefined;
  }

  /** Audits an attempt by someone PIM does not know; they are told politely by the caller. */
  async recordUnknown(slackUserId: string, attempted: string): Promise<void> {
    const email = this.emails.get(slackUserId)?.value ?? null;
    await inTransaction(this.deps, async (work) =>
      work.audit({
        event: "chat.identity_unknown",
        actor: `slack:${slackUserId}`,
        data: { platform: "slack", slackUserId, email, attempted },
      }),
    );
  }

  private async verifiedEmail(slackUserId: string): Promise<string | null> {
    const now = this.deps.clock.now().getTime();
    const cached = this.emails.get(slackUserId);
    if (cached && cached.until > now) return cached.value;
    let email: string | null = null;
    try {
      const info = await this.client.users.info({ user: slackUserId });
      const user = info.user;
      // Only a confirmed address of a real, active person counts.
      if (user && !user.is_bot && !user.deleted && user.is_email_confirmed !== false)
        email = user.profile?.email?.trim() || null;
    } catch (error) {
      this.log.warn({ err: error, slackUserId }, "users.info failed; treating the user as unknown for now");
      return null;
    }
    this.emails.set(slackUserId, { value: email, until: now + this.opts.emailTtlMs });
    return email;
  }
}

export const UNKNOWN_USER_TEXT =
  "I don't know who you are in PIM yet, so I can't do that. Ask a PIM administrator to add your Slack member id " +
  "or email to pim.yaml.";
