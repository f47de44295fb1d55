import type { Logger } from "pino";
import { approversFor } from "../../app/approvers.js";
import type { EngineDeps, EngineEvent } from "../../app/context.js";
import { getRequestView, type PersonView, type RequestView } from "../../app/queries.js";
import {
  type ChatMessageKind,
  type ChatMessageRef,
  type ChatPlatformName,
  chatMessagesFor,
  recordChatMessage,
  touchChatMessage,
} from "../../db/repos/chat-messages.js";
import { getSetting, type Role, rolesByIds } from "../../db/repos/directory.js";
import type { ChatPorts } from "../ports.js";
import { activationNoticeCard } from "../views/activation-notice.js";
import { type AlertView, alertCard, engineAlert } from "../views/alert.js";
import { approvalCard } from "../views/approval-card.js";
import type { Card } from "../views/card.js";
import { requestCard } from "../views/request-card.js";

/** What a chat platform must offer the notifier: reach a person, post a card, redraw it. */
export interface ChatSurface {
  readonly platform: ChatPlatformName;
  /** Whether a person can be reached here at all (a platform id, or an email the platform can look up). */
  canReach(person: PersonView): boolean;
  /** The direct conversation with a person, or null when they cannot be reached on this platform. */
  directConversation(person: PersonView): Promise<string | null>;
  /** Posts a card; returns the platform's message id. */
  post(conversationId: string, card: Card): Promise<string>;
  update(conversationId: string, messageId: string, card: Card): Promise<void>;
}

/** `channels` as apply-config stores it from pim.yaml. */
export type ChannelSettings = Partial<
  Record<ChatPlatformName, { alerts: string | null; approvals: string | null } | undefined>
>;

export interface ChatNotifierOptions {
  deps: Pick<EngineDeps, "db" | "clock">;
  log: Logger;
  /** The same ports every platform gets: the requester's card carries the step-up link from here. */
  ports: Pick<ChatPorts, "mfaLinkFor">;
  /** Post the engine's own alert events to the alert channel (off once an alerts module owns them). */
  postEngineAlerts?: boolean;
}

interface Queue {
  running: Promise<void>;
  again: boolean;
}

/**
 * Keeps every chat message about a request true to the database. Each engine event about a
 * request schedules one redraw of everything about it (the requester's card, each approver's
 * card, the approvers' channel card, the alert-channel notice); redraws of one request run one at
 * a time and coalesce, so a burst of changes ends in one final, correct picture.
 */
export class ChatNotifier {
  private readonly surfaces: ChatSurface[] = [];
  private readonly queues = new Map<string, Queue>();
  private readonly mfaLinks = new Map<string, string | null>();

  private oneOffs = 0;
  private readonly alertViews = new Map<string, AlertView>();

  constructor(private readonly opts: ChatNotifierOptions) {}

  addSurface(surface: ChatSurface): void {
    this.surfaces.push(surface);
  }

  /** The platforms connected so far (reviews and digests reach people through the same ones). */
  connectedSurfaces(): readonly ChatSurface[] {
    return this.surfaces;
  }

  readonly onEvent = (event: EngineEvent): void => {
    if (this.surfaces.length === 0) return;
    if (event.type === "request.changed" || event.type === "approval.needed") this.syncRequest(event.requestId);
    else if (event.type === "alert" && this.opts.postEngineAlerts !== false)
      void this.showAlert(engineAlert(event, this.opts.deps.clock.now()));
  };

  /** Redraws everything about a request (queued behind any redraw already running for it). */
  syncRequest(requestId: string): Promise<void> {
    return this.serialize(requestId, () => this.sync(requestId));
  }

  /** Posts an alert to each platform's alert channel; an alert with an id is redrawn in place later. */
  showAlert(alert: AlertView): Promise<void> {
    // A redraw queued behind one still running must draw the latest view, not the first one.
    if (alert.id) this.alertViews.set(alert.id, alert);
    const run = async () => {
      const view = alert.id ? (this.alertViews.get(alert.id) ?? alert) : alert;
      if (alert.id) this.alertViews.delete(alert.id);
      const channels = await this.channels();
      for (const surface of this.surfaces) {
        const channel = channels[surface.platform]?.alerts;
        if (!channel) continue;
        await this.guard(surface, `alert ${view.title}`, async () => {
          if (!view.id) {
            await surface.post(channel, alertCard(view));
            return;
          }
          const rows = await chatMessagesFor(this.opts.deps.db, surface.platform, view.id);
          await this.upsert(surface, rows, { kind: "alert", subjectId: view.id, principalId: null }, channel, () =>
            alertCard(view),
          );
        });
      }
    };
    // One-off alerts get a key of their own, so idle() still waits for them.
    return this.serialize(alert.id ?? `alert:${++this.oneOffs}`, run);
  }

  /** Resolves once nothing is queued (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()].map((q) => q.running));
  }

  private serialize(key: string, work: () => Promise<void>): Promise<void> {
    const queued = this.queues.get(key);
    if (queued) {
      queued.again = true;
      return queued.running;
    }
    const queue: Queue = { running: Promise.resolve(), again: false };
    queue.running = (async () => {
      do {
        queue.again = false;
        try {
          await work();
        } catch (error) {
          this.opts.log.error({ err: error, subject: key }, "chat redraw failed");
        }
      } while (queue.again);
    })().finally(() => this.queues.delete(key));
    this.queues.set(key, queue);
    return queue.running;
  }

  private async sync(requestId: string): Promise<void> {
    const { db, clock } = this.opts.deps;
    const now = clock.now();
    const view = await getRequestView(db, requestId, now);
    if (!view) return;
    const roles = await rolesByIds(
      db,
      view.roles.map((r) => r.roleId),
    );
    const channels = await this.channels();
    const mfaUrl = await this.mfaUrl(view);
    const routes = await this.approvalRoutes(view, roles, channels);

    const rowsOf = new Map<ChatSurface, ChatMessageRef[]>();
    for (const surface of this.surfaces) rowsOf.set(surface, await chatMessagesFor(db, surface.platform, requestId));

    for (const surface of this.surfaces) {
      const rows = rowsOf.get(surface)!;
      const handled = new Set<string>();
      const draw = async (
        kind: ChatMessageKind,
        principalId: string | null,
        conversation: string | (() => Promise<string | null>),
        card: () => Card,
      ) => {
        handled.add(`${kind}|${principalId}|${typeof conversation === "string" ? conversation : "*"}`);
        await this.guard(surface, `${kind} card`, () =>
          this.upsert(surface, rows, { kind, subjectId: requestId, principalId }, conversation, card),
        );
      };
      if (this.requesterSurfaces(view).includes(surface))
        await draw(
          "requester",
          view.requester.id,
          () => surface.directConversation(view.requester),
          () => requestCard(view, { now, mfaUrl }),
        );
      for (const channel of routes.channels.get(surface.platform) ?? [])
        await draw("channel", null, channel, () => approvalCard(view, { now, viewerId: null }));
      for (const approver of routes.direct) {
        if (this.approverSurface(view, approver, rowsOf) !== surface) continue;
        await draw(
          "approver",
          approver.id,
          () => surface.directConversation(approver),
          () => approvalCard(view, { now, viewerId: approver.id }),
        );
      }
      // Cards already out that need no new post: redrawn so nobody acts on a stale one.
      for (const row of rows) {
        if (handled.has(`${row.kind}|${row.principalId}|*`)) continue;
        if (handled.has(`${row.kind}|${row.principalId}|${row.conversationId}`)) continue;
        const card = this.redraw(row, view, roles, now, mfaUrl);
        if (card) await this.guard(surface, `${row.kind} card`, () => this.updateRow(surface, row, card));
      }
      await this.notice(surface, rows, view, roles, channels);
    }
  }

  private redraw(
    row: ChatMessageRef,
    view: RequestView,
    roles: Map<string, Role>,
    now: Date,
    mfaUrl: string | null,
  ): Card | undefined {
    switch (row.kind) {
      case "requester":
        return requestCard(view, { now, mfaUrl });
      case "approver":
        return approvalCard(view, { now, viewerId: row.principalId });
      case "channel":
        return approvalCard(view, { now, viewerId: null });
      case "notice":
        return activationNoticeCard(view, now, notifyRoles(view, roles));
      default:
        return undefined;
    }
  }

  /** The alert channel's notice for roles marked `notify`, posted once they are granted. */
  private async notice(
    surface: ChatSurface,
    rows: ChatMessageRef[],
    view: RequestView,
    roles: Map<string, Role>,
    channels: ChannelSettings,
  ) {
    const ids = notifyRoles(view, roles);
    const channel = channels[surface.platform]?.alerts;
    const granted = view.roles.some((r) => ids.has(r.roleId) && r.activatedAt);
    if (!channel || !granted || rows.some((r) => r.kind === "notice")) return;
    await this.guard(surface, "activation notice", () =>
      this.upsert(surface, rows, { kind: "notice", subjectId: view.requestId, principalId: null }, channel, () =>
        activationNoticeCard(view, this.opts.deps.clock.now(), ids),
      ),
    );
  }

  /** Who gets an approver's card where: per role, DMs to its approvers or one card in a channel. */
  private async approvalRoutes(view: RequestView, roles: Map<string, Role>, channels: ChannelSettings) {
    const direct = new Map<string, PersonView>();
    const byPlatform = new Map<ChatPlatformName, string[]>();
    const pending = view.roles.filter((r) => r.status === "pending_approval");
    for (const r of pending) {
      const role = roles.get(r.roleId)!;
      const settings = role.policy.activation;
      let routedToChannel = false;
      if (settings.approvalRouting === "channel") {
        for (const surface of this.surfaces) {
          const channel = settings.approvalChannel?.[surface.platform] ?? channels[surface.platform]?.approvals;
          if (!channel) continue;
          routedToChannel = true;
          const list = byPlatform.get(surface.platform) ?? [];
          if (!list.includes(channel)) byPlatform.set(surface.platform, [...list, channel]);
        }
        if (!routedToChannel)
          this.opts.log.warn({ role: role.key }, "approval routing is channel but no channel is set; sending DMs");
      }
      if (routedToChannel) continue;
      for (const id of await approversFor(this.opts.deps.db, role, view.requester.id)) {
        const person = view.approvers.find((p) => p.id === id);
        if (person) direct.set(id, person);
      }
    }
    return { direct: [...direct.values()], channels: byPlatform };
  }

  /** The requester hears on the platform they asked from; requests from the API or CLI, everywhere. */
  private requesterSurfaces(view: RequestView): ChatSurface[] {
    const same = this.surfaces.filter((s) => s.platform === view.origin);
    return same.length > 0 ? same : this.surfaces;
  }

  /** One card per approver: where they already have one, else on the requester's platform first. */
  private approverSurface(
    view: RequestView,
    approver: PersonView,
    rowsOf: Map<ChatSurface, ChatMessageRef[]>,
  ): ChatSurface | undefined {
    const existing = this.surfaces.find((s) =>
      rowsOf.get(s)?.some((r) => r.kind === "approver" && r.principalId === approver.id),
    );
    if (existing) return existing;
    const reachable = this.surfaces.filter((s) => s.canReach(approver));
    return reachable.find((s) => s.platform === view.origin) ?? reachable[0];
  }

  private async upsert(
    surface: ChatSurface,
    rows: ChatMessageRef[],
    key: { kind: ChatMessageKind; subjectId: string; principalId: string | null },
    conversation: string | (() => Promise<string | null>),
    draw: () => Card,
  ): Promise<void> {
    const existing = rows.find(
      (r) =>
        r.kind === key.kind &&
        r.principalId === key.principalId &&
        (typeof conversation !== "string" || r.conversationId === conversation),
    );
    if (existing) return this.updateRow(surface, existing, draw());
    const conversationId = typeof conversation === "string" ? conversation : await conversation();
    if (!conversationId) return;
    const card = draw();
    const messageId = await surface.post(conversationId, card);
    const ref = { platform: surface.platform, ...key, conversationId, messageId };
    const kept = await recordChatMessage(this.opts.deps.db, ref, this.opts.deps.clock.now());
    // Another replica posted first: keep theirs current; ours is a duplicate that says the same.
    if (kept.messageId !== messageId) await surface.update(conversationId, kept.messageId, card);
  }

  private async updateRow(surface: ChatSurface, row: ChatMessageRef, card: Card): Promise<void> {
    await surface.update(row.conversationId, row.messageId, card);
    await touchChatMessage(this.opts.deps.db, row, this.opts.deps.clock.now());
  }

  private async guard(surface: ChatSurface, what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.opts.log.warn({ err: error, platform: surface.platform, what }, "could not deliver a chat message");
    }
  }

  private async channels(): Promise<ChannelSettings> {
    return (await getSetting<ChannelSettings>(this.opts.deps.db, "channels")) ?? {};
  }

  /** One step-up link per request while it waits for MFA, so redraws do not mint new ones. */
  private async mfaUrl(view: RequestView): Promise<string | null> {
    const waiting = view.roles.find((r) => r.status === "pending_mfa");
    if (!waiting) {
      this.mfaLinks.delete(view.requestId);
      return null;
    }
    if (this.mfaLinks.has(view.requestId)) return this.mfaLinks.get(view.requestId) ?? null;
    const url = await this.opts.ports
      .mfaLinkFor(view.requestId, waiting.activationId, view.requester.id)
      .catch((error) => {
        this.opts.log.warn({ err: error, requestId: view.requestId }, "no MFA link for the requester's card");
        return null;
      });
    this.mfaLinks.set(view.requestId, url);
    return url;
  }
}

function notifyRoles(view: RequestView, roles: Map<string, Role>): Set<string> {
  return new Set(view.roles.filter((r) => roles.get(r.roleId)?.notify).map((r) => r.roleId));
}
