import postgres from "postgres";
import {
  type Connector,
  type ConnectorResult,
  type GrantRequest,
  type Holding,
  permanent,
  type RevokeRequest,
  retryable,
} from "./connector.js";
import { checkIdentifier, quoteIdentifier } from "./postgres-names.js";

export interface PostgresTarget {
  /** postgres://… of the target database; it may carry a password, so it is never logged. */
  url: string;
  /** The PostgreSQL role whose membership this connector grants and revokes. */
  role: string;
  poolSize?: number;
  connectTimeoutSeconds?: number;
}

/**
 * Membership of one PostgreSQL role on a target database: `GRANT role TO login` and
 * `REVOKE role FROM login`. Names are validated and quoted as identifiers, never interpolated raw.
 */
export class PostgresConnector implements Connector {
  readonly type = "postgres";
  private readonly sql: postgres.Sql;

  constructor(private readonly target: PostgresTarget) {
    this.sql = postgres(target.url, {
      max: target.poolSize ?? 2,
      idle_timeout: 60,
      connect_timeout: target.connectTimeoutSeconds ?? 5,
      onnotice: () => {},
      connection: { application_name: "pim-bot-connector" },
    });
  }

  async grant(req: GrantRequest): Promise<ConnectorResult> {
    const names = this.names(req.login);
    if (!names.ok) return permanent(names.error);
    const { role, login } = names;
    try {
      const state = await this.membership(role, login);
      if (!state.roleExists) return permanent(`the role "${role}" does not exist on the target database`);
      if (!state.loginExists)
        return permanent(`the login "${login}" does not exist on the target database; create it there first`);
      if (state.member) return { ok: true, detail: `"${login}" was already a member of "${role}"` };
      // The membership check may have waited long; a call given up meanwhile changes nothing.
      if (req.signal?.aborted) return abandoned();
      await this.sql.unsafe(`GRANT ${quoteIdentifier(role)} TO ${quoteIdentifier(login)}`);
      return { ok: true, detail: `granted "${role}" to "${login}"` };
    } catch (error) {
      return classify(error);
    }
  }

  async revoke(req: RevokeRequest): Promise<ConnectorResult> {
    const names = this.names(req.login);
    if (!names.ok) return permanent(names.error);
    const { role, login } = names;
    try {
      const before = await this.membership(role, login);
      if (!before.roleExists || !before.loginExists || !before.member)
        return { ok: true, detail: `"${login}" was not a member of "${role}"` };
      if (req.signal?.aborted) return abandoned();
      await this.sql.unsafe(`REVOKE ${quoteIdentifier(role)} FROM ${quoteIdentifier(login)}`);
      // PostgreSQL 16 keeps one membership per grantor and REVOKE only drops ours: check it is gone.
      const after = await this.membership(role, login);
      if (after.member)
        return permanent(`"${login}" is still a member of "${role}" after REVOKE; it was granted by another role too`);
      return { ok: true, detail: `revoked "${role}" from "${login}"` };
    } catch (error) {
      return classify(error);
    }
  }

  async list(): Promise<Holding[]> {
    const rows = await this.sql<{ login: string }[]>`
      select u.rolname as login
      from pg_auth_members m
      join pg_roles r on r.oid = m.roleid
      join pg_roles u on u.oid = m.member
      where r.rolname = ${this.target.role}`;
    return rows.map((r) => ({ login: r.login, principalKey: r.login, roleKey: this.target.role, scope: "/" }));
  }

  /** A role membership has no scope: every scope of one login is the same grant. */
  targetKey(holding: Pick<Holding, "login">): string {
    return holding.login;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  private names(login: string): { ok: true; role: string; login: string } | { ok: false; error: string } {
    const role = checkIdentifier(this.target.role, "role");
    if (!role.ok) return role;
    const user = checkIdentifier(login, "login");
    if (!user.ok) return user;
    return { ok: true, role: role.value, login: user.value };
  }

  private async membership(role: string, login: string) {
    const [row] = await this.sql<{ roleExists: boolean; loginExists: boolean; member: boolean }[]>`
      select
        exists (select 1 from pg_roles where rolname = ${role}) as "roleExists",
        exists (select 1 from pg_roles where rolname = ${login}) as "loginExists",
        exists (
          select 1 from pg_auth_members m
          join pg_roles r on r.oid = m.roleid
          join pg_roles u on u.oid = m.member
          where r.rolname = ${role} and u.rolname = ${login}
        ) as member`;
    return row!;
  }
}

/** SQLSTATE classes that mean "try again later": connection, resources, operator, rollback, system. */
const RETRYABLE_CLASSES = new Set(["08", "40", "53", "55", "57", "58"]);

/**
 * A database that is not there (3D000) or a login refused (class 28) is most often an operator's
 * rename, a password rotation or a failover in progress: retried, and alerted while it lasts.
 */
const RETRYABLE_CODES = new Set(["3D000", "28000", "28P01"]);

const abandoned = () => retryable("the call was given up before it changed anything on the target");

function classify(error: unknown): ConnectorResult {
  if (error instanceof postgres.PostgresError) {
    const text = `${error.message} (SQLSTATE ${error.code})`;
    return RETRYABLE_CLASSES.has(error.code.slice(0, 2)) || RETRYABLE_CODES.has(error.code)
      ? retryable(text)
      : permanent(text);
  }
  // Anything else is the network or the driver: the target may come back.
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return retryable(`the target database is unreachable: ${typeof code === "string" ? `${code}: ` : ""}${message}`);
}
