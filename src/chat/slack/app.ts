import { App, HTTPReceiver, LogLevel, type Logger as SlackLogger } from "@slack/bolt";
import type { Logger } from "pino";
import { requestIdFor } from "../../http/server.js";

export interface SlackAppSettings {
  botToken: string;
  /** HTTP mode: requests to POST /slack/events are verified with it. */
  signingSecret?: string;
  /** Socket Mode when set: Slack is reached over a websocket and no public URL is needed. */
  appToken?: string;
  /** The Web API base URL, "https://slack.com/api/" unless a test or a proxy says otherwise. */
  apiUrl?: string;
  log: Logger;
}

export interface BuiltSlackApp {
  app: App;
  /** The HTTP receiver whose request listener is mounted on the shared server; null in Socket Mode. */
  receiver: HTTPReceiver | null;
}

/** The Bolt app, in HTTP mode on our own server, or in Socket Mode when an app token is given. */
export function buildSlackApp(settings: SlackAppSettings): BuiltSlackApp {
  const logger = boltLogger(settings.log.child({ component: "bolt" }));
  const clientOptions = {
    ...(settings.apiUrl ? { slackApiUrl: withTrailingSlash(settings.apiUrl) } : {}),
    // A few quick retries (and Slack's Retry-After on 429) rather than the SDK's half-hour default:
    // a card that cannot be posted now is redrawn on the request's next change anyway.
    retryConfig: { retries: 4, factor: 2, minTimeout: 300, maxTimeout: 5_000 },
    timeout: 10_000,
  };
  if (settings.appToken) {
    const app = new App({
      token: settings.botToken,
      appToken: settings.appToken,
      socketMode: true,
      clientOptions,
      logger,
      deferInitialization: true,
    });
    return { app, receiver: null };
  }
  if (!settings.signingSecret) throw new Error("SLACK_SIGNING_SECRET is required unless SLACK_APP_TOKEN is set");
  const receiver = new HTTPReceiver({
    signingSecret: settings.signingSecret,
    endpoints: "/slack/events",
    logger,
    // Every handler learns the id of the request it serves, for its log lines and what people are told.
    customPropertiesExtractor: (req) => ({ requestId: requestIdFor(req) }),
  });
  const app = new App({ token: settings.botToken, receiver, clientOptions, logger, deferInitialization: true });
  return { app, receiver };
}

function withTrailingSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

/** Bolt's logger interface over pino, so Bolt's lines are structured like ours. */
function boltLogger(log: Logger): SlackLogger {
  let level = LogLevel.INFO;
  const text = (parts: unknown[]) =>
    parts.map((p) => (typeof p === "string" ? p : p instanceof Error ? p.message : JSON.stringify(p))).join(" ");
  const errorOf = (parts: unknown[]) => parts.find((p): p is Error => p instanceof Error);
  return {
    debug: (...parts) => log.debug(text(parts)),
    info: (...parts) => log.info(text(parts)),
    warn: (...parts) => log.warn(text(parts)),
    error: (...parts) => log.error({ err: errorOf(parts) }, text(parts)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
