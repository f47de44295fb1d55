import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";

/** The facts a figure is meaningless without. */
export function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryMB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export async function writeResult(name: string, result: Record<string, unknown>): Promise<string> {
  const dir = fileURLToPath(new URL("../results/", import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = `${dir}${name}.json`;
  await writeFile(file, `${JSON.stringify({ name, machine: machine(), ...result }, null, 2)}\n`);
  return file;
}

/** The p-th percentile (0–100) of a list of numbers, by nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * The anchor for durable writes: pgbench's TPC-B-like load (`-c 8 -j 2 -T <seconds>`, scale 10)
 * on the same server, in the same run. Initializes its own database and drops it afterwards.
 */
export function pgbenchTps(serverUrl: string, seconds = 20): { tps: number; command: string } {
  const u = new URL(serverUrl);
  const conn = ["-h", u.hostname, "-p", u.port || "5432", "-U", decodeURIComponent(u.username || "postgres")];
  const db = "pim_bench_pgbench";
  spawnSync("psql", [...conn, "-d", u.pathname.slice(1) || "postgres", "-qc", `drop database if exists ${db}`], {
    stdio: "ignore",
  });
  spawnSync("psql", [...conn, "-d", u.pathname.slice(1) || "postgres", "-qc", `create database ${db}`], {
    stdio: "ignore",
  });
  const init = spawnSync("pgbench", [...conn, "-i", "-q", "-s", "10", db], { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
  const args = [...conn, "-c", "8", "-j", "2", "-T", String(seconds), db];
  const run = spawnSync("pgbench", args, { encoding: "utf8" });
  spawnSync("psql", [...conn, "-d", u.pathname.slice(1) || "postgres", "-qc", `drop database if exists ${db}`], {
    stdio: "ignore",
  });
  const match = /tps = ([\d.]+)/.exec(run.stdout);
  if (!match) throw new Error(`pgbench printed no tps: ${run.stdout}${run.stderr}`);
  return { tps: Number(match[1]), command: `pgbench ${args.join(" ")}` };
}
