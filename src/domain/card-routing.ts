/**
 * Who sees which card about a request, and where: the requester's card in their direct chat, the
 * approvers' cards in theirs or one shared card in an approvals channel, the alert channel's notice
 * once a role marked `notify` is granted, and every card already out redrawn. Plain data in, a
 * list of steps out; the chat notifier (src/chat/notify/) carries them out on each platform.
 */
import type { ActivationStatus } from "./activation.js";

export type ChatPlatformName = "slack" | "teams";
export type ChatMessageKind = "requester" | "approver" | "channel" | "notice" | "alert" | (string & {});

/** A message a platform has posted about a subject (a request, an alert, a review page). */
export interface MessageRef {
  platform: ChatPlatformName;
  subjectId: string;
  kind: ChatMessageKind;
  principalId: string | null;
  conversationId: string;
  messageId: string;
}

/** `channels` as pim.yaml names them, per platform. */
export type ChannelSettings = Partial<
  Record<ChatPlatformName, { alerts: string | null; approvals: string | null } | undefined>
>;

/** One role of a request, with what routing needs from its policy. */
export interface RoleRouting {
  roleId: string;
  roleKey: string;
  status: ActivationStatus;
  /** Granted at some point (it has an activation time). */
  granted: boolean;
  /** The role is marked `notify`: its grants are announced in the alert channel. */
  notify: boolean;
  approvalRouting: "dm" | "channel";
  approvalChannel: Partial<Record<ChatPlatformName, string>> | null;
  /** Who may decide it now (current policy and membership), for a role waiting for approval. */
  approverIds: string[];
}

export interface CardRoutingInput {
  /** Where the request was made: "slack", "teams", or another origin (API, CLI). */
  origin: string;
  requesterId: string;
  roles: RoleRouting[];
  channels: ChannelSettings;
  /** The connected platforms, in the order they were connected. */
  platforms: ChatPlatformName[];
  /** Per platform, the people it can reach in a direct chat. */
  reachable: Partial<Record<ChatPlatformName, ReadonlySet<string>>>;
  /** Every message already posted about the request, on every platform. */
  posted: MessageRef[];
}

export type CardKind = "requester" | "approver" | "channel" | "notice";

/** Where a card goes: a channel by id, or the direct chat with a person. */
export type CardPlace = { channel: string } | { directTo: string };

export type CardStep =
  /** Draw this card here: update `existing` when there is one, else post it and record it. */
  | {
      type: "place";
      platform: ChatPlatformName;
      kind: CardKind;
      principalId: string | null;
      place: CardPlace;
      existing: MessageRef | null;
    }
  /** A card already out that no placement covers: redrawn so nobody acts on a stale one. */
  | { type: "redraw"; platform: ChatPlatformName; kind: CardKind; ref: MessageRef };

export interface CardRoutes {
  steps: CardStep[];
  /** Roles routed to a channel that no connected platform has: their approvers get DMs instead. */
  channelMissing: string[];
}

const REDRAWN: ReadonlySet<string> = new Set<CardKind>(["requester", "approver", "channel", "notice"]);

export function routeRequestCards(input: CardRoutingInput): CardRoutes {
  const { channels, platforms } = input;
  const approvals = approvalRoutes(input);
  const requesterPlatforms = platforms.includes(input.origin as ChatPlatformName)
    ? [input.origin as ChatPlatformName]
    : platforms;
  const announce = input.roles.some((r) => r.notify && r.granted);

  const steps: CardStep[] = [];
  for (const platform of platforms) {
    const posted = input.posted.filter((r) => r.platform === platform);
    const place = (kind: CardKind, principalId: string | null, where: CardPlace) => {
      const existing =
        posted.find(
          (r) =>
            r.kind === kind &&
            r.principalId === principalId &&
            ("directTo" in where || r.conversationId === where.channel),
        ) ?? null;
      steps.push({ type: "place", platform, kind, principalId, place: where, existing });
    };
    if (requesterPlatforms.includes(platform)) place("requester", input.requesterId, { directTo: input.requesterId });
    for (const channel of approvals.channels.get(platform) ?? []) place("channel", null, { channel });
    for (const approverId of approvals.direct)
      if (approverPlatform(input, approverId) === platform) place("approver", approverId, { directTo: approverId });
    for (const ref of posted)
      if (REDRAWN.has(ref.kind) && !placed(ref, steps))
        steps.push({ type: "redraw", platform, kind: ref.kind as CardKind, ref });
    const alerts = channels[platform]?.alerts;
    if (alerts && announce && !posted.some((r) => r.kind === "notice"))
      steps.push({
        type: "place",
        platform,
        kind: "notice",
        principalId: null,
        place: { channel: alerts },
        existing: null,
      });
  }
  return { steps, channelMissing: approvals.channelMissing };
}

/** A card already placed: the same channel, or the same person's direct card whatever its conversation. */
function placed(ref: MessageRef, steps: CardStep[]): boolean {
  return steps.some(
    (s) =>
      s.type === "place" &&
      s.platform === ref.platform &&
      s.kind === ref.kind &&
      s.principalId === ref.principalId &&
      ("directTo" in s.place || s.place.channel === ref.conversationId),
  );
}

/** Per role waiting for approval: DMs to its approvers, or one card in each platform's approvals channel. */
function approvalRoutes(input: CardRoutingInput) {
  const direct = new Set<string>();
  const channelsOf = new Map<ChatPlatformName, string[]>();
  const channelMissing: string[] = [];
  for (const role of input.roles.filter((r) => r.status === "pending_approval")) {
    let routed = false;
    if (role.approvalRouting === "channel") {
      for (const platform of input.platforms) {
        const channel = role.approvalChannel?.[platform] ?? input.channels[platform]?.approvals;
        if (!channel) continue;
        routed = true;
        const list = channelsOf.get(platform) ?? [];
        if (!list.includes(channel)) channelsOf.set(platform, [...list, channel]);
      }
      if (!routed) channelMissing.push(role.roleKey);
    }
    if (!routed) for (const id of role.approverIds) direct.add(id);
  }
  return { direct: [...direct], channels: channelsOf, channelMissing };
}

/** One card per approver: where they already have one, else on the requester's platform first. */
function approverPlatform(input: CardRoutingInput, approverId: string): ChatPlatformName | undefined {
  const existing = input.platforms.find((p) =>
    input.posted.some((r) => r.platform === p && r.kind === "approver" && r.principalId === approverId),
  );
  if (existing) return existing;
  const reachable = input.platforms.filter((p) => input.reachable[p]?.has(approverId));
  return reachable.find((p) => p === input.origin) ?? reachable[0];
}
