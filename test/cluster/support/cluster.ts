/**
 * Several bot processes (`src/main.ts`, as `npm start` runs it in development) on one PostgreSQL
 * database, behind one Slack endpoint each, as a load balancer would spread them. A replica can be
 * killed (SIGKILL: no shutdown of any kind) and started again on a new port.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import postgres from "postgres";
import { type BotProcess, startBot } from "../../build/bot-process.js";

export interface Replica {
  readonly name: string;
  process: BotProcess | undefined;
  /** Every process this replica has been, the killed ones included (for their output). */
  readonly lives: BotProcess[];
}

export class Cluster {
  readonly replicas: Replica[];
  private turn = 0;

  private constructor(
    names: string[],
    private readonly env: Record<string, string>,
  ) {
    this.replicas = names.map((name) => ({ name, process: undefined, lives: [] }));
  }

  /** Starts `count` replicas together, as a deployment rolling out on an empty database does. */
  static async start(count: number, env: Record<string, string>, readyWithinMs = 60_000): Promise<Cluster> {
    const cluster = new Cluster(
      Array.from({ length: count }, (_, i) => `replica-${String.fromCharCode(97 + i)}`),
      env,
    );
    const started = await Promise.allSettled(cluster.replicas.map((r) => cluster.launch(r, readyWithinMs)));
    const failed = started.find((s) => s.status === "rejected");
    if (failed) {
      await cluster.stop();
      throw (failed as PromiseRejectedResult).reason;
    }
    return cluster;
  }

  /** The replicas that are running now. */
  live(): Replica[] {
    return this.replicas.filter((r) => r.process?.child.exitCode === null && r.process.child.signalCode === null);
  }

  /** The Slack endpoint of the next live replica, round-robin. */
  nextSlackUrl(): string {
    const live = this.live();
    if (live.length === 0) throw new Error("no replica is running");
    return slackUrl(live[this.turn++ % live.length]!);
  }

  /** The Slack endpoint of a live replica picked at random. */
  randomSlackUrl(): string {
    const live = this.live();
    if (live.length === 0) throw new Error("no replica is running");
    return slackUrl(live[Math.floor(Math.random() * live.length)]!);
  }

  async kill(replica: Replica): Promise<void> {
    await replica.process?.kill();
  }

  async restart(replica: Replica, readyWithinMs = 60_000): Promise<void> {
    await this.launch(replica, readyWithinMs);
  }

  /** Peak resident memory (VmHWM) of every live replica's process, in bytes. */
  peakRss(): Record<string, number> {
    const peaks: Record<string, number> = {};
    for (const r of this.live()) peaks[r.name] = vmHwm(r.process!.child.pid!);
    return peaks;
  }

  /** The output of every process each replica has been, for a failure's message. */
  output(lines = 40): string {
    return this.replicas
      .flatMap((r) =>
        r.lives.map((p, i) => {
          const tail = p.output().trim().split("\n").slice(-lines).join("\n");
          return `── ${r.name} (life ${i + 1}) ──\n${tail}`;
        }),
      )
      .join("\n");
  }

  /** SIGTERM to every process, SIGKILL to any still running 10 s later. */
  async stop(): Promise<void> {
    await Promise.all(
      this.replicas.flatMap((r) =>
        r.lives.map(async (p) => {
          const timer = setTimeout(() => void p.kill(), 10_000);
          await p.stop();
          clearTimeout(timer);
        }),
      ),
    );
  }

  private async launch(replica: Replica, readyWithinMs: number): Promise<void> {
    const process = await startBot("tsx-loader", { ...this.env, WORKER_ID: replica.name }, { readyWithinMs });
    replica.process = process;
    replica.lives.push(process);
  }
}

function slackUrl(replica: Replica): string {
  return `${replica.process!.baseUrl}/slack/events`;
}

/** VmHWM: the most resident memory the process has held since it started. */
export function vmHwm(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** An empty database of its own on a PostgreSQL server, dropped (sessions and all) by `drop()`. */
export async function throwawayDatabase(serverUrl: string, prefix: string) {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
