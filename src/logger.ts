import pino, { type Logger } from "pino";

/** Structured logs; anything that looks like a secret is censored wherever it appears. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "pim-bot" },
    redact: {
      paths: [
        "*.password",
        "*.token",
        "*.secret",
        "*.authorization",
        "*.headers.authorization",
        "*.headers.cookie",
        "req.headers.authorization",
        "env.SLACK_BOT_TOKEN",
        "env.SLACK_SIGNING_SECRET",
        "env.SLACK_APP_TOKEN",
        "env.MICROSOFT_APP_PASSWORD",
        "env.PIM_ENCRYPTION_KEY",
        "env.OIDC_CLIENT_SECRET",
        "env.ALERTS_API_TOKEN",
        "env.DATABASE_URL",
      ],
      censor: "[redacted]",
    },
  });
}
