import { validate as validCron } from "node-cron";
import { z } from "zod";
import { parseDuration } from "../domain/duration.js";

const optional = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const parsed = parseDuration(text);
      if (!parsed.ok) {
        ctx.addIssue({ code: "custom", message: parsed.error });
        return z.NEVER;
      }
      return parsed.value;
    });

/** A comma-separated list; empty entries are dropped. */
const idList = (pattern: RegExp, what: string) =>
  z
    .string()
    .default("")
    .transform((text, ctx) => {
      const ids = text
        .split(",")
        .map((id) => id.trim())
        .filter((id) => id !== "");
      const bad = ids.find((id) => !pattern.test(id));
      if (bad !== undefined) {
        ctx.addIssue({ code: "custom", message: `"${bad}" is not ${what}` });
        return z.NEVER;
      }
      return ids;
    });

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);
export const isLoopbackHost = (host: string) => LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);

const postgresUrl = optional.refine(
  (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
  "must be a postgres:// or postgresql:// URL",
);

/** Every setting pim-bot reads from the environment; `.env.example` documents each one. */
export const envSchema = z
  .object({
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    HOST: z.string().default("0.0.0.0"),
    PUBLIC_URL: z.url().default("http://localhost:3000"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    // Log lines: pretty on a terminal, JSON elsewhere, unless asked for one of them.
    LOG_FORMAT: z.enum(["auto", "json", "pretty"]).default("auto"),

    DATABASE_URL: postgresUrl,
    DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(10),
    PGLITE_DIR: z.string().default("./data"),
    PIM_CONFIG: z.string().default("./pim.yaml"),

    WORKER_ID: optional,
    OUTBOX_LEASE: duration("30s"),
    SWEEP_INTERVAL: duration("5s"),
    RETENTION: duration("30d"),

    // Connector calls: how long one may take, and how long a target may fail before it is alerted.
    CONNECTOR_TIMEOUT: duration("10s"),
    CONNECTOR_ALERT_AFTER: duration("2m"),

    SLACK_SIGNING_SECRET: optional,
    SLACK_BOT_TOKEN: optional,
    SLACK_APP_TOKEN: optional,
    SLACK_API_URL: optional.refine(
      (v) => v === undefined || URL.canParse(v),
      "must be a URL such as https://slack.com/api/",
    ),

    MICROSOFT_APP_ID: optional,
    MICROSOFT_APP_PASSWORD: optional,
    MICROSOFT_APP_TENANT_ID: optional,
    MICROSOFT_APP_TYPE: z.enum(["MultiTenant", "SingleTenant", "UserAssignedMSI"]).default("MultiTenant"),
    /** "off" runs Teams with no app id and no authentication, for the local playground only. */
    TEAMS_AUTH: z.enum(["on", "off"]).default("on"),

    PIM_ENCRYPTION_KEY: optional.refine(
      (v) => v === undefined || v.split(",").every((k) => Buffer.from(k.trim(), "base64").length === 32),
      "must be 32 random bytes in base64 (openssl rand -base64 32), or during a rotation several separated by commas, the new one first",
    ),
    MFA_LINK_TTL: duration("10m"),
    OIDC_ISSUER: optional.refine((v) => v === undefined || URL.canParse(v), "must be the IdP's issuer URL"),
    OIDC_CLIENT_ID: optional,
    OIDC_CLIENT_SECRET: optional,
    OIDC_ACR_VALUES: optional,

    // MFA first factor, guessing limits and lockout
    MFA_ENROLLMENT_DELAY: duration("24h"),
    MFA_INVITATION_TTL: duration("72h"),
    MFA_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
    MFA_FAILURE_WINDOW: duration("1h"),
    MFA_LOCKOUT: duration("1h"),
    MFA_LINKS_PER_HOUR: z.coerce.number().int().min(1).max(1000).default(20),

    ALERTS_API_TOKEN: optional.refine((v) => v === undefined || v.length >= 32, "must be at least 32 characters"),
    METRICS_TOKEN: optional.refine((v) => v === undefined || v.length >= 32, "must be at least 32 characters"),

    // Who is served: the Slack workspaces and organizations, the Teams tenants, and /metrics.
    SLACK_ALLOWED_WORKSPACES: idList(/^[TE][A-Z0-9]+$/, "a Slack workspace id (T…) or organization id (E…)"),
    TEAMS_ALLOWED_TENANTS: idList(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
      "an Entra tenant id (a GUID)",
    ).transform((ids) => ids.map((id) => id.toLowerCase())),
    /** "off" serves /metrics without a token; "on" (default) requires METRICS_TOKEN and is closed without one. */
    METRICS_AUTH: z.enum(["on", "off"]).default("on"),
    // Tamper evidence: migrations as the tables' owner, the audit stream and its signed checkpoints.
    /** The role that owns the tables, for migrations only; the bot then runs as DATABASE_URL's role. */
    MIGRATION_DATABASE_URL: postgresUrl,
    /** JSON-lines file the audit stream appends every audit event and checkpoint to. */
    AUDIT_STREAM_FILE: optional,
    /** Webhook the audit stream POSTs every audit event and checkpoint to, signed with AUDIT_STREAM_SECRET. */
    AUDIT_STREAM_URL: optional.refine(
      (v) => v === undefined || (/^https?:\/\//.test(v) && URL.canParse(v)),
      "must be an http:// or https:// URL",
    ),
    AUDIT_STREAM_SECRET: optional.refine((v) => v === undefined || v.length >= 32, "must be at least 32 characters"),
    /** When the stream delivers and checkpoints are taken (cron syntax, once per cluster). */
    AUDIT_STREAM_SCHEDULE: z
      .string()
      .trim()
      .default("* * * * *")
      .refine((v) => validCron(v), "must be a cron expression such as */5 * * * *"),
    /** HMAC key signing the checkpoints; kept out of the database. */
    AUDIT_CHECKPOINT_KEY: optional.refine((v) => v === undefined || v.length >= 32, "must be at least 32 characters"),
  })
  .superRefine((env, ctx) => {
    const problem = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    if (env.TEAMS_AUTH === "off" && (!isLoopbackHost(env.HOST) || env.DATABASE_URL))
      problem("TEAMS_AUTH", "off is allowed only with HOST on loopback (127.0.0.1, ::1) and no DATABASE_URL");
    if (env.METRICS_AUTH === "off" && env.METRICS_TOKEN)
      problem("METRICS_AUTH", "off cannot be combined with METRICS_TOKEN; unset one of them");
  });

export type Env = z.output<typeof envSchema>;

/** Reads the environment once; a bad value stops start-up with one line naming the setting. */
export function parseEnv(
  source: Record<string, string | undefined>,
): { ok: true; env: Env } | { ok: false; message: string } {
  const parsed = envSchema.safeParse(source);
  const lines = parsed.success
    ? settingsThatNeedOthers(parsed.data)
    : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  if (parsed.success && lines.length === 0) return { ok: true, env: parsed.data };
  return { ok: false, message: `Bad configuration: ${lines.join("; ")}` };
}

/** A multi-tenant app can be installed in any tenant: the ones served must be named. Checked once the credentials are. */
export function teamsTenantsProblem(env: Env): string | null {
  if (!env.MICROSOFT_APP_ID || env.TEAMS_AUTH === "off" || env.MICROSOFT_APP_TYPE !== "MultiTenant") return null;
  if (env.TEAMS_ALLOWED_TENANTS.length > 0) return null;
  return "TEAMS_ALLOWED_TENANTS: required with MICROSOFT_APP_TYPE=MultiTenant: the Entra tenant ids to serve";
}

/**
 * The Teams tenants served: the list given, else the app's own tenant for a single-tenant app;
 * null (any tenant) only with authentication off, which start-up allows on loopback alone.
 */
export function servedTeamsTenants(env: Env): string[] | null {
  if (env.TEAMS_ALLOWED_TENANTS.length > 0) return env.TEAMS_ALLOWED_TENANTS;
  if (env.MICROSOFT_APP_TENANT_ID) return [env.MICROSOFT_APP_TENANT_ID.toLowerCase()];
  return env.TEAMS_AUTH === "off" ? null : [];
}

/** Settings that mean nothing, or something unsafe, without another one. */
function settingsThatNeedOthers(env: Env): string[] {
  const problems: string[] = [];
  if (env.MIGRATION_DATABASE_URL && !env.DATABASE_URL)
    problems.push("MIGRATION_DATABASE_URL: needs DATABASE_URL (the embedded database has no separate owner)");
  if (env.AUDIT_STREAM_URL && !env.AUDIT_STREAM_SECRET)
    problems.push("AUDIT_STREAM_URL: needs AUDIT_STREAM_SECRET to sign what it sends");
  return problems;
}
