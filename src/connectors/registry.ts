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
}

/**
 * One connector instance per distinct target, shared by every role that names it.
 * Secrets are looked up by the env var names the file gives, from the environment handed in by main.
 */
export class ConnectorRegistry {
  private readonly instances = new Map<string, Connector>();
  private readonly factories = new Map<string, ConnectorFactory>();
  private readonly env: Record<string, string | undefined>;

  constructor(db: Database, options: ConnectorRegistryOptions = {}) {
    this.env = options.env ?? {};
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
    }
    return connector;
  }

  /** Every connector in use, with the settings that made it (for drift detection). */
  inUse(): Connector[] {
    return [...this.instances.values()];
  }

  /** Closes every connector's connections (shutdown). */
  async close(): Promise<void> {
    const open = [...this.instances.values()];
    this.instances.clear();
    await Promise.allSettled(open.map((c) => c.close?.()));
  }
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
