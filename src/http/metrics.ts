/**
 * What `GET /metrics` shows, besides the process's own figures: chat requests by platform and
 * outcome with their answer time (for Slack, the acknowledgement), grant and revoke calls with
 * their outcome and duration, how long after it fell due a change reached its target (for an
 * expiry, the expiry lag), and, read from the database when scraped, activations by state, open
 * alerts by severity and the outbox backlog. Names start with `pim_`.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { countOpenAlerts } from "../app/alerts/records.js";
import type { Clock } from "../app/kernel/clock.js";
import type { Database } from "../db/client.js";
import { LIVE_STATES, liveActivationCounts, outboxBacklog } from "../db/repos/ops-figures.js";
import type { TargetCallFigures } from "../jobs/outbox-worker.js";
import type { AnswerObserver } from "./server.js";

/** Which platform an HTTP path belongs to; other paths (MFA pages, ops) are not chat requests. */
const CHAT_PATHS: Record<string, "slack" | "teams"> = { "/slack/events": "slack", "/api/messages": "teams" };

export class BotMetrics {
  readonly registry = new Registry();
  private readonly chatRequests: Counter<"platform" | "outcome">;
  private readonly answerSeconds: Histogram<"platform">;
  private readonly targetCalls: Counter<"kind" | "outcome">;
  private readonly callSeconds: Histogram<"kind">;
  private readonly grantSeconds: Histogram;
  private readonly expiryLag: Histogram;

  constructor(db: Database, clock: Clock) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.chatRequests = new Counter({
      name: "pim_chat_requests_total",
      help: "Slack and Teams requests answered, by platform and outcome (ok, refused: 4xx, error: 5xx)",
      labelNames: ["platform", "outcome"],
      registers,
    });
    this.answerSeconds = new Histogram({
      name: "pim_chat_ack_seconds",
      help: "Time from a Slack or Teams request arriving to its answer (Slack's acknowledgement)",
      labelNames: ["platform"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3],
      registers,
    });
    this.targetCalls = new Counter({
      name: "pim_target_calls_total",
      help: "Grant and revoke jobs run, by outcome (ok, failed, skipped: nothing to change)",
      labelNames: ["kind", "outcome"],
      registers,
    });
    this.callSeconds = new Histogram({
      name: "pim_target_call_seconds",
      help: "Duration of grant and revoke calls to targets",
      labelNames: ["kind"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.grantSeconds = new Histogram({
      name: "pim_grant_latency_seconds",
      help: "Time from an activation being decided to its grant confirmed on the target",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.expiryLag = new Histogram({
      name: "pim_revoke_lag_seconds",
      help: "Time from an activation's end (expiry, early end, revoke) to its revoke confirmed on the target",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    new Gauge({
      name: "pim_activations",
      help: "Activations in each live state",
      labelNames: ["state"],
      registers,
      async collect() {
        const counts = await liveActivationCounts(db);
        for (const state of LIVE_STATES) this.set({ state }, counts[state]);
      },
    });
    new Gauge({
      name: "pim_alerts_open",
      help: "Alerts not yet resolved, by severity",
      labelNames: ["severity"],
      registers,
      async collect() {
        const counts = await countOpenAlerts(db);
        for (const [severity, n] of Object.entries(counts)) this.set({ severity }, n);
      },
    });
    const backlog = () => outboxBacklog(db, clock.now());
    new Gauge({
      name: "pim_outbox_due_jobs",
      help: "Grant and revoke jobs due and not yet done",
      registers,
      async collect() {
        this.set((await backlog()).due);
      },
    });
    new Gauge({
      name: "pim_outbox_oldest_due_seconds",
      help: "How long the oldest grant or revoke job not yet done has been due (0 when none)",
      registers,
      async collect() {
        const { oldestDueAt } = await backlog();
        this.set(oldestDueAt ? Math.max(0, (clock.now().getTime() - oldestDueAt.getTime()) / 1000) : 0);
      },
    });
  }

  /** For the HTTP server: every answered request; only Slack's and Teams' are counted. */
  readonly answered: AnswerObserver = (request) => {
    const platform = CHAT_PATHS[request.path];
    if (!platform) return;
    const outcome = request.status >= 500 ? "error" : request.status >= 400 ? "refused" : "ok";
    this.chatRequests.inc({ platform, outcome });
    this.answerSeconds.observe({ platform }, request.seconds);
  };

  /** For the outbox worker: every grant or revoke it ran. */
  readonly targetCall = (call: TargetCallFigures): void => {
    this.targetCalls.inc({ kind: call.kind, outcome: call.outcome });
    if (call.outcome !== "skipped") this.callSeconds.observe({ kind: call.kind }, call.callSeconds);
    if (call.outcome === "ok" && call.dueSeconds !== null)
      (call.kind === "grant" ? this.grantSeconds : this.expiryLag).observe(Math.max(0, call.dueSeconds));
  };
}
