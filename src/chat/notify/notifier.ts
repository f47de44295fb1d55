import type { Logger } from "pino";
import { requestCards } from "../../app/activation/request-cards.js";
import type { EngineEvent } from "../../app/kernel/events.js";
import type { EngineDeps } from "../../app/kernel/unit-of-work.js";
import { channelSettings } from "../../app/notices/chat-messages.js";
import { type CardKind, type MessageRef, routeRequestCards } from "../../domain/card-routing.js";
import type { RequestView } from "../../domain/request-view.js";
import type { ChatPorts } from "../ports.js";
import { activationNoticeCard } from "../views/activation-notice.js";
import { type AlertView, alertCard, engineAlert } from "../views/alert.js";
import { approvalCard } from "../views/approval-card.js";
import type { Card } from "../views/card.js";
import { requestCard } from "../views/request-card.js";
import { MessageBook } from "./message-book.js";
import type { ChatSurface } from "./surface.js";

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

  private readonly book: MessageBook;
  private oneOffs = 0;
  private readonly alertViews = new Map<string, AlertView>();

  constructor(private readonly opts: ChatNotifierOptions) {
    this.book = new MessageBook(opts.deps);
  }

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

  /**
   * Redraws everything about a request (queued behind any redraw already running for it). Only
   * events start it: every use case that records something about a request publishes one.
   */
  private syncRequest(requestId: string): Promise<void> {
    return this.serialize(requestId, () => this.sync(requestId));
  }

  /** Posts an alert to each platform's alert channel; an alert with an id is redrawn in place later. */
  showAlert(alert: AlertView): Promise<void> {
    // A redraw queued behind one still running must draw the latest view, not the first one.
    if (alert.id) this.alertViews.set(alert.id, alert);
    const run = async () => {
      const view = alert.id ? (this.alertViews.get(alert.id) ?? alert) : alert;
      if (alert.id) this.alertViews.delete(alert.id);
      const channels = await channelSettings(this.opts.deps.db);
      for (const surface of this.surfaces) {
        const channel = channels[surface.platform]?.alerts;
        if (!channel) continue;
        await this.guard(surface, `alert ${view.title}`, async () => {
          if (!view.id) {
            await surface.post(channel, alertCard(view));
            return;
          }
          const key = { kind: "alert", subjectId: view.id, principalId: null };
          await this.book.upsert(surface, key, channel, alertCard(view));
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
    const facts = await requestCards(db, requestId, now);
    if (!facts) return;
    const { view, notifyRoleIds } = facts;
    const mfaUrl = await this.mfaUrl(view);
    const posted: MessageRef[] = [];
    for (const surface of this.surfaces) posted.push(...(await this.book.about(surface, requestId)));
    const routes = routeRequestCards({
      origin: view.origin,
      requesterId: view.requester.id,
      roles: facts.roles,
      channels: await channelSettings(db),
      platforms: this.surfaces.map((s) => s.platform),
      reachable: Object.fromEntries(
        this.surfaces.map((s) => [s.platform, new Set(view.approvers.filter((p) => s.canReach(p)).map((p) => p.id))]),
      ),
      posted,
    });
    for (const role of routes.channelMissing)
      this.opts.log.warn({ role }, "approval routing is channel but no channel is set; sending DMs");

    const people = new Map([view.requester, ...view.approvers].map((p) => [p.id, p]));
    const draw = (kind: CardKind, viewerId: string | null): Card => {
      switch (kind) {
        case "requester":
          return requestCard(view, { now, mfaUrl });
        case "approver":
          return approvalCard(view, { now, viewerId });
        case "channel":
          return approvalCard(view, { now, viewerId: null });
        case "notice":
          return activationNoticeCard(view, now, notifyRoleIds);
      }
    };
    for (const step of routes.steps) {
      const surface = this.surfaces.find((s) => s.platform === step.platform)!;
      const what = step.kind === "notice" ? "activation notice" : `${step.kind} card`;
      await this.guard(surface, what, async () => {
        if (step.type === "redraw") return this.book.redraw(surface, step.ref, draw(step.kind, step.ref.principalId));
        if (step.existing) return this.book.redraw(surface, step.existing, draw(step.kind, step.principalId));
        const conversation =
          "channel" in step.place
            ? step.place.channel
            : await surface.directConversation(people.get(step.place.directTo)!);
        if (!conversation) return;
        const key = { kind: step.kind, subjectId: requestId, principalId: step.principalId };
        await this.book.post(surface, key, conversation, draw(step.kind, step.principalId));
      });
    }
  }

  private async guard(surface: ChatSurface, what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.opts.log.warn({ err: error, platform: surface.platform, what }, "could not deliver a chat message");
    }
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
