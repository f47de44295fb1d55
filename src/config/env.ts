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
});

export type Env = z.output<typeof envSchema>;

/** Reads the environment once; a bad value stops start-up with one line naming the setting. */
export function parseEnv(
  source: Record<string, string | undefined>,
): { ok: true; env: Env } | { ok: false; message: string } {
  const parsed = envSchema.safeParse(source);
  if (parsed.success) return { ok: true, env: parsed.data };
  const lines = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  return { ok: false, message: `Bad configuration: ${lines.join("; ")}` };
}
