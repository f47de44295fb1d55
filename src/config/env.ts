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

const postgresUrl = optional.refine(
  (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
  "must be a postgres:// or postgresql:// URL",
);

/** Every setting pim-bot reads from the environment; `.env.example` documents each one. */
export const envSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  PUBLIC_URL: z.url().default("http://localhost:3000"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  DATABASE_URL: postgresUrl,
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(10),
  PGLITE_DIR: z.string().default("./data"),
  PIM_CONFIG: z.string().default("./pim.yaml"),

  WORKER_ID: optional,
  OUTBOX_LEASE: duration("30s"),
  SWEEP_INTERVAL: duration("5s"),
  RETENTION: duration("30d"),

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
    (v) => v === undefined || Buffer.from(v, "base64").length === 32,
    "must be 32 random bytes in base64 (openssl rand -base64 32)",
  ),
  MFA_LINK_TTL: duration("10m"),
  OIDC_ISSUER: optional.refine((v) => v === undefined || URL.canParse(v), "must be the IdP's issuer URL"),
  OIDC_CLIENT_ID: optional,
  OIDC_CLIENT_SECRET: optional,
  OIDC_ACR_VALUES: optional,

  ALERTS_API_TOKEN: optional.refine((v) => v === undefined || v.length >= 32, "must be at least 32 characters"),
  METRICS_TOKEN: optional,

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

/** Settings that mean nothing, or something unsafe, without another one. */
function settingsThatNeedOthers(env: Env): string[] {
  const problems: string[] = [];
  if (env.MIGRATION_DATABASE_URL && !env.DATABASE_URL)
    problems.push("MIGRATION_DATABASE_URL: needs DATABASE_URL (the embedded database has no separate owner)");
  if (env.AUDIT_STREAM_URL && !env.AUDIT_STREAM_SECRET)
    problems.push("AUDIT_STREAM_URL: needs AUDIT_STREAM_SECRET to sign what it sends");
  return problems;
}
