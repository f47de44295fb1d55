import type { Database } from "../db/client.js";
import { type Connector, permanent } from "./connector.js";
import { LogConnector } from "./log.js";
import { PostgresConnector } from "./postgres.js";
import { WebhookConnector } from "./webhook.js";

/** Connector settings of a role, as declared in pim.yaml. */
export type ConnectorSettings = { type: string } & Record<string, unknown>;

export interface FactoryContext {
  /** The environment main read, for the secrets and URLs pim.yaml names by variable. */
  env: Record<string, string | undefined>;
}

export type ConnectorFactory = (settings: ConnectorSettings, context: FactoryContext) => Connector;

export interface ConnectorRegistryOptions {
  env?: Record<string, string | undefined>;
  /** How long a call may take when the role's connector settings give no `timeout` (CONNECTOR_TIMEOUT). */
  defaultTimeoutMs?: number;
}

/** Every connector call is abandoned past its deadline: 10 s unless the settings say otherwise. */
export const DEFAULT_CONNECTOR_TIMEOUT_MS = 10_000;

/** Where a connector's calls go, as operators know it (no secrets), and how long a call may take. */
export interface TargetInfo {
  name: string;
  timeoutMs: number;
}

/**
 * One connector instance per distinct target, shared by every role that names it.
 * Secrets are looked up by the env var names the file gives, from the environment handed in by main.
 */
export class ConnectorRegistry {
  private readonly instances = new Map<string, Connector>();
  private readonly targets = new Map<Connector, TargetInfo>();
  private readonly defaultTimeoutMs: number;
  private readonly factories = new Map<string, ConnectorFactory>();
  private readonly env: Record<string, string | undefined>;

  constructor(db: Database, options: ConnectorRegistryOptions = {}) {
    this.env = options.env ?? {};
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_CONNECTOR_TIMEOUT_MS;
    const log = new LogConnector(db);
    this.factories.set("log", () => log);
    this.factories.set("postgres", postgresFactory);
    this.factories.set("webhook", webhookFactory);
  }

  register(type: string, factory: ConnectorFactory): this {
    this.factories.set(type, factory);
    return this;
  }

  forRole(role: { key: string; connector: Record<string, unknown> }): Connector {
    const settings = (role.connector.type ? role.connector : { type: "log" }) as ConnectorSettings;
    const id = JSON.stringify(settings, Object.keys(settings).sort());
    let connector = this.instances.get(id);
    if (!connector) {
      const factory = this.factories.get(settings.type);
      if (!factory) throw new Error(`role ${role.key}: no connector of type "${settings.type}" is available`);
      connector = factory(settings, { env: this.env });
      this.instances.set(id, connector);
      this.targets.set(connector, {
        name: targetName(settings),
        timeoutMs: typeof settings.timeoutMs === "number" ? settings.timeoutMs : this.defaultTimeoutMs,
      });
    }
    return connector;
  }

  /** The target a connector made here calls, and its deadline. */
  targetOf(connector: Connector): TargetInfo {
    return this.targets.get(connector) ?? { name: connector.type, timeoutMs: this.defaultTimeoutMs };
  }

  /** Every connector in use, with the settings that made it (for drift detection). */
  inUse(): Connector[] {
    return [...this.instances.values()];
  }

  /** Closes every connector's connections (shutdown). */
  async close(): Promise<void> {
    const open = [...this.instances.values()];
    this.instances.clear();
    this.targets.clear();
    await Promise.allSettled(open.map((c) => c.close?.()));
  }
}

/** `postgres PROD_DB_URL db_admin`, `webhook https://hooks.example.com/pim`, `log`: names, never secrets. */
function targetName(settings: ConnectorSettings): string {
  const parts = [settings.type];
  if (typeof settings.urlEnv === "string") parts.push(settings.urlEnv);
  if (typeof settings.role === "string") parts.push(settings.role);
  if (typeof settings.url === "string" && URL.canParse(settings.url)) {
    const u = new URL(settings.url);
    parts.push(`${u.origin}${u.pathname}`);
  }
  return parts.join(" ");
}

const postgresFactory: ConnectorFactory = (settings, { env }) => {
  const urlEnv = String(settings.urlEnv);
  const url = env[urlEnv];
  if (!url) return new MisconfiguredConnector("postgres", `the environment variable ${urlEnv} (urlEnv) is not set`);
  return new PostgresConnector({ url, role: String(settings.role) });
};

const webhookFactory: ConnectorFactory = (settings, { env }) => {
  const secretEnv = String(settings.secretEnv);
  const secret = env[secretEnv];
  if (!secret)
    return new MisconfiguredConnector("webhook", `the environment variable ${secretEnv} (secretEnv) is not set`);
  return new WebhookConnector({ url: String(settings.url), secret, timeoutMs: Number(settings.timeoutMs ?? 5_000) });
};

/**
 * Stands in for a connector whose settings cannot work: every call fails permanently with the
 * reason, so grants fail with a clear audit entry and revokes keep retrying and alert.
 */
class MisconfiguredConnector implements Connector {
  constructor(
    readonly type: string,
    private readonly why: string,
  ) {}
  grant = async () => permanent(`the ${this.type} connector is misconfigured: ${this.why}`);
  revoke = async () => permanent(`the ${this.type} connector is misconfigured: ${this.why}`);
  list = async () => undefined;
}
