import { createRequire } from "node:module";
import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import type PinoPretty from "pino-pretty";

/** `auto`: one short coloured line per event on a terminal, JSON lines anywhere else. */
export type LogFormat = "auto" | "json" | "pretty";

/** Where log lines go; a terminal when `isTTY` is true. */
export type LogDestination = DestinationStream & { isTTY?: boolean };

const REDACTED_PATHS = [
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
];

/**
 * Structured logs; anything that looks like a secret is censored wherever it appears. Censoring
 * happens before a line is formatted, so the pretty lines are censored exactly as the JSON ones.
 */
export function createLogger(
  level: string,
  format: LogFormat = "auto",
  destination: LogDestination = process.stdout,
): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: "pim-bot" },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  };
  const terminal = destination.isTTY === true;
  if (format === "json" || (format === "auto" && !terminal))
    return destination === process.stdout ? pino(options) : pino(options, destination);
  // Loaded only for a terminal: a server logging JSON never pays for it.
  const pretty = createRequire(import.meta.url)("pino-pretty") as typeof PinoPretty;
  return pino(
    options,
    pretty({
      destination,
      sync: true,
      colorize: terminal,
      singleLine: true,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname,service",
    }),
  );
}
