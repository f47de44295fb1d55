import { existsSync } from "node:fs";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { applyConfig } from "./app/admin/apply-config.js";
import { exportAuditAsFile } from "./app/admin/audit-export.js";
import { offerDownload } from "./app/admin/downloads.js";
import { AlertTriggers, acknowledgeAlert } from "./app/alerts/evaluate.js";
import { countOpenAlerts } from "./app/alerts/records.js";
import { type Clock, systemClock } from "./app/kernel/clock.js";
import { EventBus } from "./app/kernel/event-bus.js";
import type { EngineEvent } from "./app/kernel/events.js";
import { newId } from "./app/kernel/ids.js";
import type { EngineDeps } from "./app/kernel/unit-of-work.js";
import { ActivityNotices } from "./app/notices/activity.js";
import { AssignmentNotices } from "./app/notices/assignments.js";
import type { Delivery } from "./app/notices/delivery.js";
import { RevocationNotices } from "./app/notices/revocations.js";
import { ReviewRedraws } from "./app/reviews/prompts.js";
import { reviewsInProgress } from "./app/reviews/views.js";
import { registerAuditAnchor } from "./audit/anchor-job.js";
import type { RecordingPolicy } from "./chat/flows/recording.js";
import { ChatDelivery } from "./chat/notify/chat-delivery.js";
import { ChatNotifier } from "./chat/notify/notifier.js";
import { type ChatPlatform, DisabledPlatform } from "./chat/platform.js";
import type { ChatPorts } from "./chat/ports.js";
// Each platform's modules (Bolt, botbuilder) are loaded only when that platform is configured.
import type { SlackPlatform } from "./chat/slack/platform.js";
import type { TeamsPlatform, TeamsPlatformOptions } from "./chat/teams/platform.js";
import { alertViewOf } from "./chat/views/security-alert.js";
import { type Env, parseEnv, servedTeamsTenants, teamsTenantsProblem } from "./config/env.js";
import { formatPimFileErrors, loadPimFile, type PimConfig } from "./config/pim-file.js";
import { ConnectorRegistry } from "./connectors/registry.js";
import { type Database, type DbHandle, openDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { newUnitSettings } from "./db/unit-of-work.js";
import { mountAlertsApi } from "./http/alerts-api.js";
import { downloadUrl, mountDownloads } from "./http/downloads.js";
import { BotMetrics } from "./http/metrics.js";
import { mountOps } from "./http/ops.js";
import { HttpServer } from "./http/server.js";
import { driftWithAlerts, registerAlertsJob } from "./jobs/alerts-job.js";
import { registerAssignmentRemindersJob } from "./jobs/assignment-reminders-job.js";
import { CronCoordinator } from "./jobs/cron-coordinator.js";
import { registerDigestJob } from "./jobs/digest-job.js";
import { registerExpiringNoticesJob } from "./jobs/notices-job.js";
import { OutboxWorker, type OutboxWorkerOptions } from "./jobs/outbox-worker.js";
import { registerRetentionJob } from "./jobs/retention-job.js";
import { ReviewsJob } from "./jobs/reviews-job.js";
import { Scheduler } from "./jobs/scheduler.js";
import { createLogger } from "./logger.js";
import { FactorNotices } from "./mfa/factor-notices.js";
import { MfaService } from "./mfa/service.js";
import { PATHS } from "./paths.js";

const EXAMPLE_POLICY = PATHS.examplePolicy;

/**
 * What a test (or an embedding program) may put in place of the real thing. Everything else is
 * built from the environment exactly as in production.
 */
export interface ComposeOverrides {
  clock?: Clock;
  log?: Logger;
  /** An open, migrated database (a test's own); otherwise DATABASE_URL or PGLITE_DIR is opened. */
  database?: DbHandle;
  /** The policy itself instead of the file PIM_CONFIG names (a test's policy with run-time ports). */
  policy?: PimConfig;
  /** The connectors to targets; by default built from the database with secrets from the environment. */
  connectors?: (db: Database) => ConnectorRegistry;
  /** The outbox worker's options (a test fixes the retry jitter). */
  worker?: Partial<OutboxWorkerOptions>;
  /** The Bot Connector and the channel's token service (stand-ins, private clouds). */
  teams?: Pick<TeamsPlatformOptions, "defaultServiceUrl" | "channelOpenIdMetadataUrl" | "channelTokenIssuer">;
  /** The port to listen on instead of PORT (0: any free one). */
  port?: number;
  /** Sees every engine event before anyone else (tests record them). */
  tap?: (event: EngineEvent) => void;
  /** How clicks and forms are tried again during a database outage (a test passes the time by hand). */
  recording?: Partial<RecordingPolicy>;
  /**
   * What alerts, reviews and notices are told through, given chat's own delivery: a test without
   * a chat platform records what people would be told here.
   */
  delivery?: (chat: ChatDelivery) => Delivery;
}

export interface StartOptions {
  /**
   * Run the background jobs: the expiry scheduler, the outbox worker on its own and the recurring
   * jobs. Tests that drive time by hand run them explicitly instead. Default true.
   */
  jobs?: boolean;
}

export interface Bot {
  env: Env;
  log: Logger;
  deps: EngineDeps;
  handle: DbHandle;
  connectors: ConnectorRegistry;
  worker: OutboxWorker;
  scheduler: Scheduler;
  http: HttpServer;
  mfa: MfaService;
  ports: ChatPorts;
  notifier: ChatNotifier;
  delivery: Delivery;
  reviewsJob: ReviewsJob;
  /** Alerts, review redraws and activity notices, listening to the engine's events. */
  listeners: {
    alerts: AlertTriggers;
    reviews: ReviewRedraws;
    notices: ActivityNotices;
    factors: FactorNotices;
    revocations: RevocationNotices;
    assignments: AssignmentNotices;
  };
  /** Slack and Teams, each either running or disabled with the reason. */
  platforms: ChatPlatform[];
  slack: SlackPlatform | null;
  teams: TeamsPlatform | null;
  /** Starts serving; returns the port the HTTP server listens on. */
  start(options?: StartOptions): Promise<number>;
  /** Resolves once every handler, listener and chat redraw in flight has finished. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds the whole bot from settings: database, policy, engine, connectors, jobs, the MFA pages,
 * chat (one set of ports for the notifier and every platform) and the HTTP server. main.ts and
 * every test build the bot here.
 */
export async function compose(
  source: Record<string, string | undefined>,
  overrides: ComposeOverrides = {},
): Promise<Bot> {
  const parsed = parseEnv(source);
  if (!parsed.ok) throw new StartupError(parsed.message);
  const env = parsed.env;
  const log = overrides.log ?? createLogger(env.LOG_LEVEL, env.LOG_FORMAT);

  // The policy is checked before anything else is touched, so a bad file costs nothing.
  const policy = overrides.policy ?? (await policyFrom(env, log));
  // Teams settings are checked before the database is opened, for the same reason.
  const teamsSettings = await teamsSettingsOf(env);

  const handle = overrides.database ?? (await openDatabaseFor(env));
  log.info(
    { driver: handle.driver, where: handle.driver === "pglite" ? env.PGLITE_DIR : "DATABASE_URL" },
    "database opened",
  );
  await runMigrations(handle, env.MIGRATION_DATABASE_URL);

  const bus = new EventBus((error, event) => log.error({ err: error, event: event.type }, "event listener failed"));
  const tap = overrides.tap;
  const events = tap
    ? {
        publish: (event: EngineEvent) => {
          tap(event);
          bus.publish(event);
        },
      }
    : bus;
  const units = newUnitSettings();
  const deps: EngineDeps = { db: handle.db, clock: overrides.clock ?? systemClock, events, units };

  const applied = await applyConfig(deps, policy);
  log.info({ changes: applied.changes }, "policy applied");

  const connectors =
    overrides.connectors?.(handle.db) ??
    new ConnectorRegistry(handle.db, { env: source, defaultTimeoutMs: env.CONNECTOR_TIMEOUT });
  const workerId = env.WORKER_ID ?? `${hostname()}-${process.pid}-${newId("job").slice(4, 10)}`;
  const metrics = new BotMetrics(handle.db, deps.clock);
  const worker = new OutboxWorker(deps, connectors, log, {
    workerId,
    observe: metrics.targetCall,
    leaseMs: env.OUTBOX_LEASE,
    targetAlertAfterMs: env.CONNECTOR_ALERT_AFTER,
    ...overrides.worker,
  });
  // While the scheduler runs, grants and revokes decided here are written claimed by this
  // process's worker, which runs them as soon as they commit (see LocalClaims).
  const scheduler = new Scheduler(deps, worker, units.claims, log, {
    sweepIntervalMs: env.SWEEP_INTERVAL,
    timerHorizonMs: 10 * 60_000,
  });
  bus.subscribe(scheduler.onEvent);
  const cron = new CronCoordinator(handle.db, workerId, log);

  const http = new HttpServer(log, metrics.answered);
  const mfa = MfaService.fromEnv(env, deps, log);
  mfa.mount(http);
  mountOps(
    http,
    metrics.registry,
    [{ name: "database", check: async () => void (await handle.db.execute("select 1")) }],
    env.METRICS_AUTH === "off" ? { open: true } : { token: env.METRICS_TOKEN },
    log,
  );
  if (mountAlertsApi(http, handle.db, env.ALERTS_API_TOKEN)) log.info("alerts API at GET /api/alerts");

  mountDownloads(http, deps, log);
  const ports = chatPorts(deps, mfa, handle, env.PUBLIC_URL);
  // The alerts module posts the engine's alert events itself (with ids, de-duplicated, acknowledgeable).
  const notifier = new ChatNotifier({ deps, log, ports, postEngineAlerts: false });
  bus.subscribe(notifier.onEvent);
  const chatDelivery = new ChatDelivery(notifier, deps, log);
  const delivery = overrides.delivery?.(chatDelivery) ?? chatDelivery;
  const onEventError = (err: unknown) => log.error({ err }, "alerts, reviews or notices failed");
  const listeners = {
    alerts: new AlertTriggers(deps, delivery, onEventError),
    reviews: new ReviewRedraws(deps, delivery, onEventError),
    notices: new ActivityNotices(deps, delivery, onEventError),
    factors: new FactorNotices(deps, delivery, onEventError),
    revocations: new RevocationNotices(deps, delivery, onEventError),
    assignments: new AssignmentNotices(deps, delivery, onEventError),
  };
  for (const listener of Object.values(listeners)) bus.subscribe(listener.onEvent);
  const reviewsJob = new ReviewsJob(deps, delivery, log);

  const slack = await slackPlatform(env, deps, log, notifier, ports, overrides.recording);
  const teams = teamsSettings
    ? new (await import("./chat/teams/platform.js")).TeamsPlatform({
        deps,
        log,
        notifier,
        ports,
        recording: overrides.recording,
        ...teamsSettings,
        ...overrides.teams,
      })
    : null;
  const platforms: ChatPlatform[] = [
    slack ?? new DisabledPlatform("Slack", `${slackMissing(env).join(" and ")} not set`),
    teams ??
      new DisabledPlatform(
        "Teams",
        "MICROSOFT_APP_ID not set (TEAMS_AUTH=off runs it without authentication, locally)",
      ),
  ];
  for (const platform of [slack, teams]) if (platform) notifier.addSurface(platform.surface);
  for (const p of platforms) {
    if (p instanceof DisabledPlatform) log.info({ platform: p.name, why: p.why }, `${p.name} is disabled`);
    p.mount(http);
  }

  let jobsRunning = false;
  let stopping: Promise<void> | undefined;
  const idle = async () => {
    for (let round = 0; round < 3; round++) {
      if (slack) await slack.idle();
      if (teams) await teams.idle();
      for (const listener of Object.values(listeners)) await listener.idle();
      await notifier.idle();
    }
  };

  const bot: Bot = {
    env,
    log,
    deps,
    handle,
    connectors,
    worker,
    scheduler,
    http,
    mfa,
    ports,
    notifier,
    delivery,
    reviewsJob,
    listeners,
    platforms,
    slack,
    teams,
    async start(options = {}) {
      const port = await http.listen(overrides.port ?? env.PORT, env.HOST);
      if (options.jobs !== false) {
        jobsRunning = true;
        await scheduler.start();
        cron.schedule("drift", "*/5 * * * *", driftWithAlerts(deps, connectors, delivery));
        registerAlertsJob(cron, deps, delivery);
        reviewsJob.register(cron);
        registerDigestJob(cron, deps, delivery);
        registerExpiringNoticesJob(cron, deps, delivery);
        registerAssignmentRemindersJob(cron, deps);
        registerRetentionJob(cron, deps, env.RETENTION, log);
        registerAuditAnchor(cron, handle, env, log);
      }
      for (const p of platforms) await p.start();
      log.info({ port, publicUrl: env.PUBLIC_URL, workerId }, "pim-bot is running");
      return port;
    },
    idle,
    /**
     * Stops gracefully (SIGTERM): takes no new requests and answers those in flight, lets chat
     * finish its redraws, stops the scheduled jobs, finishes the grants and revokes already
     * started, and gives back the claims of any not started so another replica runs them at once.
     */
    stop() {
      stopping ??= stopEverything();
      return stopping;
    },
  };
  return bot;

  async function stopEverything(): Promise<void> {
    await http.stopAccepting();
    for (const p of platforms) await p.stop();
    await idle();
    await cron.stop();
    if (jobsRunning) await scheduler.stop();
    await worker.idle();
    await worker.releaseAll().catch((error) => log.warn({ err: error }, "could not release outbox claims"));
    // What the last grants and revokes told chat and the listeners finishes before the database closes.
    await idle();
    await connectors.close();
    await http.close();
    if (!overrides.database) await handle.close();
  }
}

/** The one set of ports chat works with, from the MFA and alerts modules. */
function chatPorts(deps: EngineDeps, mfa: MfaService, handle: DbHandle, publicUrl: string): ChatPorts {
  return {
    mfaLinkFor: (requestId, activationId, principalId) => mfa.linkFor(requestId, activationId, principalId),
    approvalStepUpLinkFor: (requestId, approverId, comment) => mfa.approvalLinkFor(requestId, approverId, comment),
    assignmentStepUpLinkFor: (pendingId, adminId) => mfa.assignmentLinkFor(pendingId, adminId),
    startMfaEnrollment: (principalId) => mfa.startEnrollment(principalId),
    async acknowledgeAlert(alertId, principalId) {
      const acknowledged = await acknowledgeAlert(deps, alertId, principalId);
      return acknowledged.ok ? alertViewOf(acknowledged.value) : null;
    },
    async countOpenAlerts() {
      const counts = await countOpenAlerts(deps.db);
      return counts.low + counts.medium + counts.high;
    },
    async countReviewsInProgress() {
      return (await reviewsInProgress(deps.db)).length;
    },
    exportAudit: (principalId, filter) => exportAuditAsFile(deps, handle, { kind: "person", id: principalId }, filter),
    async downloadLinkFor(principalId, file) {
      const offered = await offerDownload(deps, principalId, file);
      return { url: downloadUrl(publicUrl, offered.token), expiresAt: offered.expiresAt };
    },
  };
}

async function policyFrom(env: Env, log: Logger): Promise<PimConfig> {
  const path = existsSync(env.PIM_CONFIG) ? env.PIM_CONFIG : EXAMPLE_POLICY;
  if (path === EXAMPLE_POLICY)
    log.warn({ PIM_CONFIG: env.PIM_CONFIG }, "no policy file there; using the shipped example policy");
  const policy = await loadPimFile(path);
  if (!policy.ok) throw new StartupError(`${path} is invalid:\n${formatPimFileErrors(policy.error)}`);
  log.info({ file: path }, "policy read");
  return policy.value;
}

function openDatabaseFor(env: Env): Promise<DbHandle> {
  return env.DATABASE_URL
    ? openDatabase({ driver: "postgres", url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE })
    : openDatabase({ driver: "pglite", dataDir: env.PGLITE_DIR });
}

function slackMissing(env: Env): string[] {
  return [
    !env.SLACK_BOT_TOKEN && "SLACK_BOT_TOKEN",
    !env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN && "SLACK_SIGNING_SECRET",
  ].filter((s): s is string => Boolean(s));
}

/**
 * Each platform's SDK is loaded only when that platform is configured: Bolt and botbuilder are
 * most of what a start would otherwise spend loading code.
 */
async function slackPlatform(
  env: Env,
  deps: EngineDeps,
  log: Logger,
  notifier: ChatNotifier,
  ports: ChatPorts,
  recording: Partial<RecordingPolicy> | undefined,
): Promise<SlackPlatform | null> {
  if (slackMissing(env).length > 0) return null;
  const { SlackPlatform } = await import("./chat/slack/platform.js");
  return new SlackPlatform({
    deps,
    log,
    notifier,
    ports,
    recording,
    botToken: env.SLACK_BOT_TOKEN!,
    signingSecret: env.SLACK_SIGNING_SECRET,
    appToken: env.SLACK_APP_TOKEN,
    apiUrl: env.SLACK_API_URL,
    workspaces: env.SLACK_ALLOWED_WORKSPACES,
  });
}

/**
 * Teams runs authenticated when MICROSOFT_APP_ID is set, unauthenticated only when TEAMS_AUTH=off
 * says so (the local playground), and not at all otherwise.
 */
async function teamsSettingsOf(env: Env) {
  if (env.MICROSOFT_APP_ID && env.TEAMS_AUTH === "off")
    throw new StartupError("TEAMS_AUTH: off cannot be combined with MICROSOFT_APP_ID; unset one of them");
  if (!env.MICROSOFT_APP_ID && env.TEAMS_AUTH === "on") return null;
  const settings = {
    appId: env.MICROSOFT_APP_ID ?? null,
    appPassword: env.MICROSOFT_APP_PASSWORD,
    tenantId: env.MICROSOFT_APP_TENANT_ID,
    appType: env.MICROSOFT_APP_TYPE,
  };
  const { teamsCredentialsProblem } = await import("./chat/teams/adapter.js");
  const problem = teamsCredentialsProblem(settings) ?? teamsTenantsProblem(env);
  if (problem) throw new StartupError(`Bad configuration: ${problem}`);
  return { ...settings, tenants: servedTeamsTenants(env) };
}

export class StartupError extends Error {
  readonly code = "STARTUP";
}
