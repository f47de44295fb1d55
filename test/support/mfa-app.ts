import { randomBytes } from "node:crypto";
import { generate } from "otplib";
import { requestActivation } from "../../src/app/request-activation.js";
import { HOUR, MINUTE } from "../../src/domain/duration.js";
import { HttpServer } from "../../src/http/server.js";
import type { OidcSettings } from "../../src/mfa/oidc.js";
import { MfaService } from "../../src/mfa/service.js";
import { type DriverName, TEST_DATABASE_URL } from "./databases.js";
import { createEngine, type EngineHarness, silentLogger } from "./engine.js";

export const LINK_TTL_MS = 10 * MINUTE;

/** Browser suites run once, on the real server when there is one (a new database there is quicker than PGlite's initdb). */
export const browserDriver: DriverName = TEST_DATABASE_URL ? "postgres" : "pglite";

export interface MfaApp {
  e: EngineHarness;
  mfa: MfaService;
  http: HttpServer;
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

/** The real MFA pages on the real HTTP server, over a migrated database with the MFA fixture. */
export async function startMfaApp(driver: DriverName, options: MfaAppOptions = {}): Promise<MfaApp> {
  const e = await createEngine(driver, "mfa.yaml");
  // The events of the pages and use cases stay with the test, which hands them to the alert and
  // factor listeners itself (deliverEvents), with a delivery that records what people are told.
  e.deps = { ...e.deps, events: { publish: (event) => e.events.push(event) } };
  if (options.realTime) e.clock.set(new Date());
  const http = new HttpServer(silentLogger);
  const port = await http.listen(0, "127.0.0.1");
  const publicUrl = `http://localhost:${port}`;
  const mfa = new MfaService({
    deps: e.deps,
    publicUrl,
    linkTtlMs: LINK_TTL_MS,
    encryptionKey:
      options.encryptionKey === null ? undefined : (options.encryptionKey ?? randomBytes(32).toString("base64")),
    oidc: options.oidc ? await options.oidc(publicUrl) : null,
    log: silentLogger,
  });
  mfa.mount(http);
  return {
    e,
    mfa,
    http,
    publicUrl,
    port,
    async request(user, roles, justification = "Investigate the incident") {
      const roleIds = await Promise.all(roles.map((r) => e.role(r)));
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
      generate({ secret, epoch: Math.floor(e.clock.now().getTime() / 1000) + offsetSteps * 30 }),
    async stop() {
      await http.close();
      await e.dispose();
    },
  };
}

/** The token in a link, for tests that post to the pages directly. */
export function tokenOf(link: string): string {
  return new URL(link).pathname.split("/").at(-1)!;
}
