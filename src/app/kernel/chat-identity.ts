import type { Executor } from "../../db/client.js";
import {
  type ChatPlatformName,
  linkablePrincipalByEmail,
  linkPlatformId,
  type Principal,
  principalByPlatformId,
} from "../../db/repos/directory.js";
import { type EngineDeps, inTransaction } from "./unit-of-work.js";

export type { ChatPlatformName, Principal };

/** What the platform itself says about a sender it verified. */
export interface ChatSender {
  platform: ChatPlatformName;
  /** The platform's verified id: Slack's user id, Teams' Entra object id (lower case). */
  platformId: string;
  /** The address the platform's directory gives for that id, and whether the platform confirmed it. */
  email: string | null;
  emailConfirmed: boolean;
}

/** Who a platform id belongs to, without linking anything: the fast path of every request. */
export function principalOfPlatformId(
  db: Executor,
  platform: ChatPlatformName,
  platformId: string,
): Promise<Principal | undefined> {
  return principalByPlatformId(db, platform, platformId);
}

/**
 * The principal a verified sender is. The platform id is authoritative: whoever holds it in
 * pim.yaml (or through an earlier link) is the sender, whatever their e-mail says. Only when
 * nobody holds it may a confirmed e-mail address link it, and only to a principal that has no id
 * on that platform yet; the link is written and audited, so from then on the id alone decides.
 */
export async function resolveChatSender(deps: EngineDeps, sender: ChatSender): Promise<Principal | undefined> {
  const known = await principalByPlatformId(deps.db, sender.platform, sender.platformId);
  if (known) return known;
  const email = sender.email?.trim();
  if (!email || !sender.emailConfirmed) return undefined;
  return inTransaction(deps, async (work) => {
    // Re-read inside the transaction: another request from the same person may have linked it.
    const raced = await principalByPlatformId(work.tx, sender.platform, sender.platformId);
    if (raced) return raced;
    const candidate = await linkablePrincipalByEmail(work.tx, sender.platform, email);
    if (!candidate) return undefined;
    const linked = await linkPlatformId(work.tx, candidate.id, sender.platform, sender.platformId, work.now);
    if (!linked) return undefined;
    work.audit({
      event: "chat.identity_linked",
      actor: `${sender.platform}:${sender.platformId}`,
      subject: linked.key,
      data: { platform: sender.platform, platformId: sender.platformId, email },
    });
    return linked;
  }).catch((error: unknown) => {
    // The id is held by a principal that left pim.yaml (ids are unique even after retirement).
    if (isUniqueViolation(error)) return undefined;
    throw error;
  });
}

function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause)
    if ((e as { code?: string }).code === "23505") return true;
  return false;
}

/**
 * Audits an attempt by someone PIM does not know (their platform id mapped to nobody); they are
 * told politely by chat. `actor` is the platform's id of them.
 */
export async function recordUnknownSender(
  deps: EngineDeps,
  unknown: { platform: ChatPlatformName; actor: string; attempted: string; data: Record<string, unknown> },
): Promise<void> {
  await inTransaction(deps, async (work) =>
    work.audit({
      event: "chat.identity_unknown",
      actor: `${unknown.platform}:${unknown.actor}`,
      data: { platform: unknown.platform, ...unknown.data, attempted: unknown.attempted },
    }),
  );
}

/** Audits a sender refused at the door (a foreign tenant or workspace, or a channel not served). */
export async function recordRefusedSender(
  deps: EngineDeps,
  refusal: { platform: ChatPlatformName; actor: string; code: string; data: Record<string, unknown> },
): Promise<void> {
  await inTransaction(deps, async (work) =>
    work.audit({
      event: "chat.sender_refused",
      actor: `${refusal.platform}:${refusal.actor}`,
      data: { platform: refusal.platform, code: refusal.code, ...refusal.data },
    }),
  );
}
