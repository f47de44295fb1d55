import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { applyConfig } from "./app/apply-config.js";
import type { EngineDeps } from "./app/context.js";
import { AlertTriggers } from "./app/evaluate-alerts.js";
import { EventBus } from "./app/event-bus.js";
import { newId } from "./app/ids.js";
import { ActivityNotices } from "./app/notifications.js";
import { systemClock } from "./app/ports.js";
import { ReviewRedraws } from "./app/review-prompts.js";
import { registerAuditAnchor } from "./audit/anchor-job.js";
import { type ChatPlatform, DisabledPlatform } from "./chat/platform.js";
import type { SlackHooks } from "./chat/slack/context.js";
import { SlackPlatform } from "./chat/slack/platform.js";
import { teamsCredentialsProblem } from "./chat/teams/adapter.js";
import { TeamsPlatform } from "./chat/teams/platform.js";
import { type AlertHooks, alertHooks } from "./chat/views/alert-hooks.js";
import { ChatDelivery } from "./chat/views/chat-delivery.js";
import { ChatNotifier } from "./chat/views/notifier.js";
import { type Env, parseEnv, servedTeamsTenants, teamsTenantsProblem } from "./config/env.js";
import { formatPimFileErrors, loadPimFile } from "./config/pim-file.js";
import { ConnectorRegistry } from "./connectors/registry.js";
import { type DbHandle, openDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { mountAlertsApi } from "./http/alerts-api.js";
import { mountOps } from "./http/ops.js";
import { HttpServer } from "./http/server.js";
import { driftWithAlerts, registerAlertsJob } from "./jobs/alerts-job.js";
import { registerAssignmentRemindersJob } from "./jobs/assignment-reminders-job.js";
import { CronCoordinator } from "./jobs/cron-coordinator.js";
import { registerDigestJob } from "./jobs/digest-job.js";
import { registerExpiringNoticesJob } from "./jobs/notices-job.js";
import { OutboxWorker } from "./jobs/outbox-worker.js";
import { registerRetentionJob } from "./jobs/retention-job.js";
import { ReviewsJob } from "./jobs/reviews-job.js";
import { Scheduler } from "./jobs/scheduler.js";
import { createLogger } from "./logger.js";
import { FactorNotices } from "./mfa/factor-notices.js";
import { MfaService } from "./mfa/service.js";

const EXAMPLE_POLICY = fileURLToPath(new URL("../pim.example.yaml", import.meta.url));

export interface Running {
  port: number;
  stop(): Promise<void>;
}

/** Builds everything from the environment and starts it. The only place that reads process.env. */
export async function start(source: Record<string, string | undefined>): Promise<Running> {
  const parsed = parseEnv(source);
  if (!parsed.ok) throw new StartupError(parsed.message);
  const env = parsed.env;
  const log = createLogger(env.LOG_LEVEL, env.LOG_FORMAT);

  // The policy is checked before anything else is touched, so a bad file costs nothing.
  const policyPath = existsSync(env.PIM_CONFIG) ? env.PIM_CONFIG : EXAMPLE_POLICY;
  if (policyPath === EXAMPLE_POLICY)
    log.warn({ PIM_CONFIG: env.PIM_CONFIG }, "no policy file there; using the shipped example policy");
  const policy = await loadPimFile(policyPath);
  if (!policy.ok) throw new StartupError(`${policyPath} is invalid:\n${formatPimFileErrors(policy.error)}`);

  const handle = await openDatabaseFor(env);
  log.info(
    { driver: handle.driver, where: handle.driver === "pglite" ? env.PGLITE_DIR : "DATABASE_URL" },
    "database opened",
  );
  await runMigrations(handle, env.MIGRATION_DATABASE_URL);

  const bus = new EventBus((error, event) => log.error({ err: error, event: event.type }, "event listener failed"));
  const deps: EngineDeps = { db: handle.db, clock: systemClock, events: bus };

  const applied = await applyConfig(deps, policy.value);
  log.info({ file: policyPath, changes: applied.changes }, "policy applied");

  const connectors = new ConnectorRegistry(handle.db, { env: source, defaultTimeoutMs: env.CONNECTOR_TIMEOUT });
  const workerId = env.WORKER_ID ?? `${hostname()}-${process.pid}-${newId("job").slice(4, 10)}`;
  const worker = new OutboxWorker(deps, connectors, log, {
    workerId,
    leaseMs: env.OUTBOX_LEASE,
    targetAlertAfterMs: env.CONNECTOR_ALERT_AFTER,
  });
  const scheduler = new Scheduler(deps, worker, log, {
    sweepIntervalMs: env.SWEEP_INTERVAL,
    timerHorizonMs: 10 * 60_000,
  });
  bus.subscribe(scheduler.onEvent);
  const cron = new CronCoordinator(handle.db, workerId, log);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const http = new HttpServer(log);
  // The MFA pages; chat gets its links from `mfa` (linkFor, approvalLinkFor, startEnrollment).
  const mfa = MfaService.fromEnv(env, deps, log);
  mfa.mount(http);
  mountOps(
    http,
    registry,
    [{ name: "database", check: async () => void (await handle.db.execute("select 1")) }],
    env.METRICS_AUTH === "off" ? { open: true } : { token: env.METRICS_TOKEN },
    log,
  );

  // The alerts module posts the engine's alert events itself (with ids, de-duplicated, acknowledgeable).
  const notifier = new ChatNotifier({ deps, log, postEngineAlerts: false });
  bus.subscribe(notifier.onEvent);

  // Alerts, access reviews, notices and digests: event listeners, cluster-once jobs, GET /api/alerts.
  const delivery = new ChatDelivery(notifier, deps, log);
  const onEventError = (err: unknown) => log.error({ err }, "alerts, reviews or notices failed");
  const listeners = [
    new AlertTriggers(deps, delivery, onEventError),
    new ReviewRedraws(deps, delivery, onEventError),
    new ActivityNotices(deps, delivery, onEventError),
    new FactorNotices(deps, delivery, onEventError),
  ];
  for (const listener of listeners) bus.subscribe(listener.onEvent);
  cron.schedule("drift", "*/5 * * * *", driftWithAlerts(deps, connectors, delivery));
  registerAlertsJob(cron, deps, delivery);
  new ReviewsJob(deps, delivery, log).register(cron);
  registerDigestJob(cron, deps, delivery);
  registerExpiringNoticesJob(cron, deps, delivery);
  registerAssignmentRemindersJob(cron, deps);
  registerRetentionJob(cron, deps, env.RETENTION, log);
  registerAuditAnchor(cron, handle, env, log);
  if (mountAlertsApi(http, handle.db, env.ALERTS_API_TOKEN)) log.info("alerts API at GET /api/alerts");

  // Step-up links on chat cards and `/elevate mfa setup` come from the MFA module.
  const mfaHooks = {
    mfaLinkFor: (requestId: string, activationId: string, principalId: string) =>
      mfa.linkFor(requestId, activationId, principalId),
    approvalStepUpLinkFor: (requestId: string, approverId: string) => mfa.approvalLinkFor(requestId, approverId),
    startMfaEnrollment: (principalId: string) => mfa.startEnrollment(principalId),
  };
  const platforms = chatPlatforms(env, deps, log, notifier, { ...alertHooks(deps), ...mfaHooks });
  for (const p of platforms) {
    if (p instanceof DisabledPlatform) log.info({ platform: p.name, why: p.why }, `${p.name} is disabled`);
    p.mount(http);
  }

  const port = await http.listen(env.PORT, env.HOST);
  await scheduler.start();
  // From now on, grants and revokes decided here are written claimed by this process's worker,
  // which runs them as soon as they commit (see EngineDeps.claimant).
  deps.claimant = worker.claimant;
  for (const p of platforms) await p.start();
  log.info({ port, publicUrl: env.PUBLIC_URL, workerId }, "pim-bot is running");

  return {
    port,
    async stop() {
      for (const p of platforms) await p.stop();
      await notifier.idle();
      await cron.stop();
      for (const listener of listeners) await listener.idle();
      delete deps.claimant;
      await scheduler.stop();
      await connectors.close();
      await http.close();
      await handle.close();
    },
  };
}

function openDatabaseFor(env: Env): Promise<DbHandle> {
  return env.DATABASE_URL
    ? openDatabase({ driver: "postgres", url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE })
    : openDatabase({ driver: "pglite", dataDir: env.PGLITE_DIR });
}

function chatPlatforms(
  env: Env,
  deps: EngineDeps,
  log: Logger,
  notifier: ChatNotifier,
  hooks: AlertHooks & SlackHooks,
): ChatPlatform[] {
  const slackMissing = [
    !env.SLACK_BOT_TOKEN && "SLACK_BOT_TOKEN",
    !env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN && "SLACK_SIGNING_SECRET",
  ].filter(Boolean);
  return [
    slackMissing.length > 0
      ? new DisabledPlatform("Slack", `${slackMissing.join(" and ")} not set`)
      : new SlackPlatform({
          deps,
          log,
          notifier,
          botToken: env.SLACK_BOT_TOKEN!,
          signingSecret: env.SLACK_SIGNING_SECRET,
          appToken: env.SLACK_APP_TOKEN,
          apiUrl: env.SLACK_API_URL,
          workspaces: env.SLACK_ALLOWED_WORKSPACES,
          hooks,
        }),
    teamsPlatform(env, deps, log, notifier, hooks),
  ];
}

/**
 * Teams runs authenticated when MICROSOFT_APP_ID is set, unauthenticated only when TEAMS_AUTH=off
 * says so (the local playground), and not at all otherwise.
 */
function teamsPlatform(
  env: Env,
  deps: EngineDeps,
  log: Logger,
  notifier: ChatNotifier,
  hooks: AlertHooks,
): ChatPlatform {
  if (env.MICROSOFT_APP_ID && env.TEAMS_AUTH === "off")
    throw new StartupError("TEAMS_AUTH: off cannot be combined with MICROSOFT_APP_ID; unset one of them");
  if (!env.MICROSOFT_APP_ID && env.TEAMS_AUTH === "on")
    return new DisabledPlatform(
      "Teams",
      "MICROSOFT_APP_ID not set (TEAMS_AUTH=off runs it without authentication, locally)",
    );
  const settings = {
    appId: env.MICROSOFT_APP_ID ?? null,
    appPassword: env.MICROSOFT_APP_PASSWORD,
    tenantId: env.MICROSOFT_APP_TENANT_ID,
    appType: env.MICROSOFT_APP_TYPE,
  };
  const problem = teamsCredentialsProblem(settings) ?? teamsTenantsProblem(env);
  if (problem) throw new StartupError(`Bad configuration: ${problem}`);
  return new TeamsPlatform({ deps, log, notifier, hooks, ...settings, tenants: servedTeamsTenants(env) });
}

export class StartupError extends Error {
  readonly code = "STARTUP";
}

const isEntryPoint = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntryPoint) {
  start(process.env).then(
    (running) => {
      const shutdown = () => void running.stop().then(() => process.exit(0));
      process.once("SIGTERM", shutdown);
      process.once("SIGINT", shutdown);
    },
    (error) => {
      console.error(error instanceof StartupError ? error.message : error);
      process.exit(1);
    },
  );
}
