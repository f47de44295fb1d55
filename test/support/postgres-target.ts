import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { quoteIdentifier } from "../../src/connectors/postgres-names.js";
import { TEST_DATABASE_URL, withDatabase } from "./databases.js";

/**
 * A throwaway target on the real server: a database of its own and roles with a random suffix
 * (roles are cluster-wide), all dropped again by dispose().
 */
export class PostgresTarget {
  readonly suffix = randomBytes(3).toString("hex");
  private readonly roles: string[] = [];

  private constructor(
    readonly database: string,
    readonly url: string,
    private readonly admin: postgres.Sql,
    /** Connected to the throwaway database itself. */
    readonly sql: postgres.Sql,
  ) {}

  static async create(): Promise<PostgresTarget> {
    const database = `pim_target_${randomBytes(5).toString("hex")}`;
    const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${database}`);
    const url = withDatabase(TEST_DATABASE_URL, database);
    return new PostgresTarget(database, url, admin, postgres(url, { max: 2, onnotice: () => {} }));
  }

  /** `name-<suffix>`, unique to this target. */
  name(base: string): string {
    return `${base}-${this.suffix}`;
  }

  async createRole(name: string, options: { login?: boolean } = {}): Promise<string> {
    await this.admin.unsafe(`create role ${quoteIdentifier(name)} ${options.login ? "login" : "nologin"}`);
    this.roles.push(name);
    return name;
  }

  async isMember(login: string, role: string): Promise<boolean> {
    const [row] = await this.sql<{ member: boolean }[]>`select pg_has_role(${login}, ${role}, 'MEMBER') as member`;
    return row!.member;
  }

  async dispose(): Promise<void> {
    await this.sql.end({ timeout: 5 });
    await this.admin.unsafe(`drop database if exists ${this.database} with (force)`);
    for (const role of this.roles.reverse()) await this.admin.unsafe(`drop role if exists ${quoteIdentifier(role)}`);
    await this.admin.end({ timeout: 5 });
  }
}
