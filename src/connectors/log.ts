import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { logHoldings } from "../db/schema/connector-log.js";
import type { Connector, ConnectorResult, GrantRequest, Holding, RevokeRequest } from "./connector.js";

/**
 * The embedded default: grants are rows in our own database, so the whole flow works before any
 * target is wired, and drift detection has something to compare.
 */
export class LogConnector implements Connector {
  readonly type = "log";
  constructor(private readonly db: Database) {}

  async grant(req: GrantRequest): Promise<ConnectorResult> {
    await this.db
      .insert(logHoldings)
      .values({ login: req.login, role: req.roleKey, scope: req.scope, grantedBy: req.activationId ?? "assignment" })
      .onConflictDoNothing();
    return { ok: true };
  }

  async revoke(req: RevokeRequest): Promise<ConnectorResult> {
    await this.db
      .delete(logHoldings)
      .where(
        and(eq(logHoldings.login, req.login), eq(logHoldings.role, req.roleKey), eq(logHoldings.scope, req.scope)),
      );
    return { ok: true };
  }

  /** One statement for a whole batch: the rows travel as one JSON parameter. */
  async grantMany(reqs: GrantRequest[]): Promise<ConnectorResult[]> {
    const rows = reqs.map((r) => ({
      login: r.login,
      role: r.roleKey,
      scope: r.scope,
      by: r.activationId ?? "assignment",
    }));
    await this.db.execute(sql`
      insert into ${logHoldings} (login, role, scope, granted_by)
      select login, role, scope, by from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb)
        as x(login text, role text, scope text, by text)
      on conflict do nothing`);
    return reqs.map(() => ({ ok: true }));
  }

  async revokeMany(reqs: RevokeRequest[]): Promise<ConnectorResult[]> {
    const rows = reqs.map((r) => ({ login: r.login, role: r.roleKey, scope: r.scope }));
    await this.db.execute(sql`
      delete from ${logHoldings} h
      using jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as x(login text, role text, scope text)
      where h.login = x.login and h.role = x.role and h.scope = x.scope`);
    return reqs.map(() => ({ ok: true }));
  }

  async list(): Promise<Holding[]> {
    const rows = await this.db.select().from(logHoldings);
    return rows.map((r) => ({ login: r.login, principalKey: r.login, roleKey: r.role, scope: r.scope }));
  }
}
