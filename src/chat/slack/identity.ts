import type { AnyMiddlewareArgs, Middleware, webApi } from "@slack/bolt";
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

export interface SlackIdentityOptions {
  /** How long a user's verified email from users.info is trusted before it is asked again. */
  emailTtlMs: number;
  /**
   * How long a resolved principal is reused. Every click is checked again by the engine against
   * the current policy; the cache only spares a lookup per request, and a change to pim.yaml
   * reaches chat within this time.
   */
  principalTtlMs: number;
  /**
   * The workspaces (T…) and Enterprise Grid organizations (E…) served. Empty: only the workspace
   * the bot token belongs to (asked once with auth.test).
   */
  workspaces?: string[];
}

interface Profile {
  email: string | null;
  confirmed: boolean;
  /** The user's own Enterprise Grid organization, as users.info tells it. */
  enterpriseId: string | null;
}

/**
 * Maps the verified Slack user id of a request to a principal: by the Slack id in pim.yaml (or
 * linked earlier), else by linking the user's confirmed email from users.info to a principal that
 * has no Slack id yet. Never from anything the user typed. Requests from workspaces that are not
 * served are refused before any of this (see `gate`).
 */
export class SlackIdentity {
  private readonly profiles: ExpiringCache<Profile | null>;
  private readonly principals: ExpiringCache<Principal>;
  private served: Promise<Set<string>> | undefined;

  constructor(
    private readonly deps: EngineDeps,
    private readonly client: webApi.WebClient,
    private readonly log: Logger,
    private readonly opts: SlackIdentityOptions = { emailTtlMs: 10 * 60_000, principalTtlMs: 30_000 },
  ) {
    this.profiles = new ExpiringCache(deps.clock, opts.emailTtlMs);
    this.principals = new ExpiringCache(deps.clock, opts.principalTtlMs);
  }

  async resolve(slackUserId: string): Promise<Principal | undefined> {
    const kept = this.principals.kept(slackUserId);
    if (kept) return kept.value;
    const found = await this.lookUp(slackUserId);
    // Only known people are remembered: someone added to pim.yaml is recognised at once.
    if (found) this.principals.set(slackUserId, found);
    else this.principals.delete(slackUserId);
    return found;
  }

  private async lookUp(slackUserId: string): Promise<Principal | undefined> {
    const byId = await principalOfPlatformId(this.deps.db, "slack", slackUserId);
    if (byId) return byId;
    const profile = await this.profile(slackUserId);
    if (!profile?.email) return undefined;
    return resolveChatSender(this.deps, {
      platform: "slack",
      platformId: slackUserId,
      email: profile.email,
      emailConfirmed: profile.confirmed,
    });
  }

  /**
   * Global middleware: a payload is served only when every workspace and organization it names
   * is served (a Slack Connect user clicking in a shared channel names their own workspace).
   * Anything else is acknowledged, audited and dropped before any lookup.
   */
  readonly gate: Middleware<AnyMiddlewareArgs> = async (args) => {
    const named = namedOrigins(args.body as unknown as Record<string, unknown>);
    const served = await this.servedOrigins();
    if (await this.admitted(named, served)) return args.next();
    const ack = (args as { ack?: () => Promise<void> }).ack;
    if (ack) await ack();
    await recordRefusedSender(this.deps, {
      platform: "slack",
      actor: named.userId ?? "unknown",
      code: "WORKSPACE_NOT_SERVED",
      data: { teams: named.teams, enterprises: named.enterprises },
    });
  };

  /**
   * Served when the payload names at least one origin and each is served. A workspace not listed
   * itself is served when the user belongs to a served Grid organization, as users.info says
   * (not the payload: a shared channel's organization is not the clicker's).
   */
  private async admitted(named: NamedOrigins, served: Set<string>): Promise<boolean> {
    if (named.teams.length === 0 && named.enterprises.length === 0) return false;
    if (!named.enterprises.every((e) => served.has(e))) return false;
    if (named.teams.every((t) => served.has(t))) return true;
    if (named.enterprises.length === 0 || !named.userId) return false;
    const home = (await this.profile(named.userId))?.enterpriseId;
    return Boolean(home && served.has(home));
  }

  private servedOrigins(): Promise<Set<string>> {
    if (this.opts.workspaces && this.opts.workspaces.length > 0) return Promise.resolve(new Set(this.opts.workspaces));
    this.served ??= this.client.auth.test().then(
      (me) => new Set([me.team_id, me.enterprise_id].filter((id): id is string => Boolean(id))),
      (error: unknown) => {
        this.served = undefined;
        throw error;
      },
    );
    return this.served;
  }

  /** Audits an attempt by someone PIM does not know; they are told politely by the caller. */
  async recordUnknown(slackUserId: string, attempted: string): Promise<void> {
    const email = this.profiles.kept(slackUserId)?.value?.email ?? null;
    await recordUnknownSender(this.deps, {
      platform: "slack",
      actor: slackUserId,
      attempted,
      data: { slackUserId, email },
    });
  }

  private async profile(slackUserId: string): Promise<Profile | null> {
    return this.profiles
      .get(slackUserId, async () => {
        const user = (await this.client.users.info({ user: slackUserId })).user;
        // Only the address of a real, active person, and only when Slack says it is confirmed.
        if (!user || user.is_bot || user.deleted) return null;
        return {
          email: user.profile?.email?.trim() || null,
          confirmed: user.is_email_confirmed === true,
          enterpriseId: user.enterprise_user?.enterprise_id ?? null,
        };
      })
      .catch((error) => {
        this.log.warn({ err: error, slackUserId }, "users.info failed; treating the user as unknown for now");
        return null;
      });
  }
}

interface NamedOrigins {
  userId: string | null;
  teams: string[];
  enterprises: string[];
}

/** Every workspace and organization id a payload names, wherever Slack puts them. */
function namedOrigins(body: Record<string, unknown>): NamedOrigins {
  const obj = (v: unknown) => (v && typeof v === "object" ? (v as Record<string, unknown>) : {});
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  const event = obj(body.event);
  const user = obj(body.user);
  const teams = [
    str(body.team_id),
    str(obj(body.team).id),
    str(user.team_id),
    str(body.user_team_id),
    str(event.user_team),
    str(obj(body.view).team_id),
  ];
  const enterprises = [str(body.enterprise_id), str(obj(body.enterprise).id), str(user.enterprise_id)];
  return {
    userId: str(body.user_id) ?? str(user.id) ?? str(event.user),
    teams: [...new Set(teams.filter((t): t is string => t !== null))],
    enterprises: [...new Set(enterprises.filter((e): e is string => e !== null))],
  };
}

export const UNKNOWN_USER_TEXT =
  "I don't know who you are in PIM yet, so I can't do that. Ask a PIM administrator to add your Slack member id " +
  "or email to pim.yaml.";
