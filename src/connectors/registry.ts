import type { Database } from "../db/client.js";
import type { Connector } from "./connector.js";
import { LogConnector } from "./log.js";

/** Connector settings of a role, as declared in pim.yaml. */
export type ConnectorSettings = { type: string } & Record<string, unknown>;

export type ConnectorFactory = (settings: ConnectorSettings) => Connector;

/**
 * One connector instance per distinct target, shared by every role that names it.
 * Secrets are looked up by the env var names the file gives, from the environment handed in by main.
 */
export class ConnectorRegistry {
  private readonly instances = new Map<string, Connector>();
  private readonly factories = new Map<string, ConnectorFactory>();

  constructor(db: Database) {
    const log = new LogConnector(db);
    this.factories.set("log", () => log);
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
      connector = factory(settings);
      this.instances.set(id, connector);
    }
    return connector;
  }

  /** Every connector in use, with the settings that made it (for drift detection). */
  inUse(): Connector[] {
    return [...this.instances.values()];
  }
}
