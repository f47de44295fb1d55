import { randomBytes } from "node:crypto";
import { generate } from "otplib";
import { requestActivation } from "../../src/app/activation/request.js";
import type { PersonView } from "../../src/app/activation/views.js";
import type { ChatMessage, Delivery } from "../../src/app/notices/delivery.js";
import type { Bot } from "../../src/compose.js";
import { principals } from "../../src/db/schema/principals.js";
import { roles } from "../../src/db/schema/roles.js";
import { HOUR, MINUTE } from "../../src/domain/duration.js";
import type { HttpServer } from "../../src/http/server.js";
import type { OidcSettings } from "../../src/mfa/oidc.js";
import type { MfaService } from "../../src/mfa/service.js";
import { ManualClock } from "./clock.js";
import { type DriverName, TEST_DATABASE_URL } from "./databases.js";
import { composeEngine, type EngineHarness, idByKey, loadFixture } from "./engine.js";
import { freePort } from "./free-port.js";

export const LINK_TTL_MS = 10 * MINUTE;

/** Browser suites run once, on the real server when there is one (a new database there is quicker than PGlite's initdb). */
export const browserDriver: DriverName = TEST_DATABASE_URL ? "postgres" : "pglite";

/** What reached people and the alert channel, as the Delivery port saw it (there is no chat platform here). */
export class RecordingDelivery implements Delivery {
  readonly toPeople: { person: string; message: ChatMessage }[] = [];
  readonly toChannel: ChatMessage[] = [];
  async toPerson(person: PersonView, message: ChatMessage): Promise<boolean> {
    this.toPeople.push({ person: person.key, message });
    return true;
  }
  async toAlertChannel(message: ChatMessage): Promise<boolean> {
    this.toChannel.push(message);
    return true;
  }
  /** Alerts posted to the channel, in order. */
  alerts() {
    return this.toChannel.flatMap((m) => (m.type === "alert" ? [m.alert] : []));
  }
  /** Factor notices sent to people, in order. */
  factorNotices() {
    return this.toPeople.flatMap((m) =>
      m.message.type === "mfa.factor" ? [{ to: m.person, ...m.message.notice }] : [],
    );
  }
}

export interface MfaApp {
  bot: Bot;
  e: EngineHarness;
  mfa: MfaService;
  http: HttpServer;
  /** What the bot's alert triggers and factor notices told people and the alert channel. */
  delivery: RecordingDelivery;
  /** PUBLIC_URL: http://localhost:<port>, a secure context for WebAuthn. */
  publicUrl: string;
  port: number;
  /** Asks for roles as a user and returns the request and its first activation. */
  request(user: string, roles: string[], justification?: string): Promise<{ requestId: string; activationId: string }>;
  /** The current TOTP code for a secret, by the engine's clock. */
  code(secret: string, offsetSteps?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface MfaAppOptions {
  /** Called once the port is known, so an IdP can register our callback. */
  oidc?: (publicUrl: string) => Promise<OidcSettings>;
  encryptionKey?: string | null;
  /** Set the engine clock to the wall clock (an IdP signs tokens with real time). */
  realTime?: boolean;
}

/**
 * pim-bot built by compose() with no chat platform, the MFA fixture and its MFA settings, serving
 * the real MFA pages; what people would be told in chat is recorded instead.
 */
export async function startMfaApp(driver: DriverName, options: MfaAppOptions = {}): Promise<MfaApp> {
  const port = await freePort();
  const publicUrl = `http://localhost:${port}`;
  const oidc = options.oidc ? await options.oidc(publicUrl) : null;
  const clock = new ManualClock();
  if (options.realTime) clock.set(new Date());
  const delivery = new RecordingDelivery();
  const env: Record<string, string | undefined> = {
    HOST: "127.0.0.1",
    PORT: String(port),
    PUBLIC_URL: publicUrl,
    MFA_LINK_TTL: `${LINK_TTL_MS / MINUTE}m`,
    PIM_ENCRYPTION_KEY:
      options.encryptionKey === null ? undefined : (options.encryptionKey ?? randomBytes(32).toString("base64")),
    ...(oidc
      ? {
          OIDC_ISSUER: oidc.issuer,
          OIDC_CLIENT_ID: oidc.clientId,
          OIDC_CLIENT_SECRET: oidc.clientSecret ?? undefined,
          OIDC_ACR_VALUES: oidc.acrValues.join(" ") || undefined,
        }
      : {}),
  };
  const composed = await composeEngine(driver, loadFixture("mfa.yaml"), { env, clock, delivery: () => delivery });
  const { bot } = composed;
  await bot.start({ jobs: false });
  const e: EngineHarness = {
    handle: composed.handle,
    deps: bot.deps,
    clock,
    events: composed.events,
    connectors: bot.connectors,
    worker: bot.worker,
    user: (key) => idByKey(composed.handle.db, principals, key),
    role: (key) => idByKey(composed.handle.db, roles, key),
    dispose: composed.dispose,
  };
  return {
    bot,
    e,
    mfa: bot.mfa,
    http: bot.http,
    delivery,
    publicUrl,
    port,
    async request(user, roleKeys, justification = "Investigate the incident") {
      const roleIds = await Promise.all(roleKeys.map((r) => e.role(r)));
      const made = await requestActivation(e.deps, {
        requesterId: await e.user(user),
        roles: roleIds.map((roleId) => ({ roleId })),
        durationMs: HOUR,
        justification,
        origin: "api",
      });
      if (!made.ok) throw new Error(made.error.message);
      return { requestId: made.value.requestId, activationId: made.value.activations[0]!.id };
    },
    code: (secret, offsetSteps = 0) =>
      generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) + offsetSteps * 30 }),
    stop: () => composed.dispose(),
  };
}

/** The token in a link, for tests that post to the pages directly. */
export function tokenOf(link: string): string {
  return new URL(link).pathname.split("/").at(-1)!;
}
