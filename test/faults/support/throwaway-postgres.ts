import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../support/free-port.js";

const run = promisify(execFile);

/** The newest PostgreSQL server binaries installed the Debian way, if any. */
export function postgresBinaries(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "pg_ctl")) && existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], "bin") : undefined;
}

/** Why a throwaway server cannot be started here, or undefined when it can. */
export function throwawayUnavailable(): string | undefined {
  if (!postgresBinaries()) return "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin";
  if (process.getuid?.() !== 0) return "starting a throwaway server needs root (to run it as the postgres user)";
  return undefined;
}

/**
 * A PostgreSQL server of the test's own, in a temporary directory on a free loopback port, run as
 * the postgres user with trust authentication. It can be stopped and started again like a real
 * server restart, without touching the machine's cluster that other tests use.
 */
export class ThrowawayPostgres {
  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<ThrowawayPostgres> {
    const bin = postgresBinaries();
    if (!bin) throw new Error("no PostgreSQL server binaries");
    const dir = mkdtempSync(join(tmpdir(), "pim-pg-"));
    chmodSync(dir, 0o777);
    const server = new ThrowawayPostgres(bin, dir, await freePort());
    await server.asPostgres(`${bin}/initdb -D ${server.data} -U postgres -A trust --no-sync -E UTF8 >/dev/null`);
    await server.start();
    return server;
  }

  get data(): string {
    return join(this.dir, "data");
  }

  url(database = "postgres"): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const options = `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${this.dir} -c fsync=off -c max_connections=100 -c shared_buffers=16MB`;
    await this.asPostgres(
      `${this.bin}/pg_ctl -D ${this.data} -l ${this.dir}/log -w -t 30 -o "${options}" start >/dev/null`,
    );
  }

  /**
   * Fast shutdown: the server ends every session, as on a restart or a failover. A backend writing
   * to a client that is not reading (a paused bot) can hold a fast shutdown up; past 20 s the server
   * is stopped at once instead, as a crash or a failover would, which is no kinder to the bot.
   */
  async stop(): Promise<void> {
    await this.asPostgres(`${this.bin}/pg_ctl -D ${this.data} -m fast -w -t 20 stop >/dev/null`).catch(() =>
      this.asPostgres(`${this.bin}/pg_ctl -D ${this.data} -m immediate -w -t 20 stop >/dev/null`),
    );
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.asPostgres(`${this.bin}/pg_ctl -D ${this.data} -m immediate -w stop >/dev/null 2>&1 || true`).catch(
      () => {},
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async asPostgres(command: string): Promise<void> {
    await run("su", ["postgres", "-c", command], { timeout: 60_000 });
  }
}
