/**
 * What the bot costs to run: time from process start to the first /readyz 200, resident memory
 * idle and after 1,000 activation lifecycles, on the embedded database and on the PostgreSQL
 * server, for the compiled build (`node dist/main.js`, what `npm start` runs) and — the anchor,
 * in the same run — the `tsx src/main.ts` start that `npm start` used to be.
 *
 * Each bot is a separate process started with only the settings it needs, on a fresh data
 * directory or a fresh database, with Teams configured. Lifecycles go through its real HTTP
 * endpoint: people on Teams (TEAMS_AUTH=off, the Bot Connector stood in locally) open the request
 * form, submit it, wait for the grant and click "End now", several people at once. Teams without
 * authentication is refused beside DATABASE_URL, so on the PostgreSQL server the bot runs with
 * (placeholder) Bot Framework credentials and only its start and idle memory are measured; the
 * anchor too is measured for its start and idle memory only. Memory is the VmRSS of the process
 * and everything it started (tsx's own process and its esbuild service count for the anchor),
 * sampled after a quiet period. Then the bot is stopped and started again on the same data, for
 * the time a restart takes. Beside each wall-clock time, the CPU time the start used: on a shared
 * machine the wall clock measures the neighbours as much as the bot.
 *
 *   npm run bench:footprint
 *   BENCH_LIFECYCLES=1000 BENCH_LANES=8 BENCH_SETTLE_MS=10000 BENCH_DATABASE_URL=postgres://… npm run bench:footprint
 *   BENCH_LIFECYCLES=0 BENCH_RESULT=footprint-starts npm run bench:footprint   (starts and idle only)
 *   BENCH_ONLY=postgres:dist,postgres:tsx-cli BENCH_RESULT=footprint-postgres npm run bench:footprint
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { type BotProcess, ROOT, type StartCommand, startBot } from "../test/build/bot-process.js";
import { selfServicePolicy, TeamsClient, teamsPerson } from "../test/build/teams-people.js";
import { writeResult } from "./lib/report.js";

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const LIFECYCLES = Number(process.env.BENCH_LIFECYCLES ?? 1000);
/** People acting at once; each does its share of the lifecycles one after another. */
const LANES = Number(process.env.BENCH_LANES ?? 8);
/** Quiet time before each memory sample, so that start-up or load garbage can be collected. */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 10_000);
/** The file in bench/results/ (without .json). */
const RESULT = process.env.BENCH_RESULT ?? "footprint";
/** Only these runs, e.g. "postgres:dist" (database:start); all four by default. */
const ONLY = process.env.BENCH_ONLY?.split(",");
/** Teams without authentication: only on loopback and the embedded database. */
const LOCAL_TEAMS = { TEAMS_AUTH: "off" };
/** Teams as deployed beside PostgreSQL: the SDK loaded and configured; no token is asked for at start. */
const SIGNED_TEAMS = {
  MICROSOFT_APP_ID: "11111111-2222-4333-8444-555555555555",
  MICROSOFT_APP_PASSWORD: "placeholder-not-a-secret",
  MICROSOFT_APP_TYPE: "SingleTenant",
  MICROSOFT_APP_TENANT_ID: "66666666-7777-4888-9999-000000000000",
};
const STARTS: { name: string; command: StartCommand }[] = [
  { name: "compiled (node dist/main.js)", command: "dist" },
  { name: "anchor (tsx src/main.ts)", command: "tsx-cli" },
];

interface Figures {
  database: "embedded" | "postgres";
  start: string;
  /** The machine's one-minute load average when the bot was started. */
  loadAverage: number;
  readyMs: number;
  readyCpuMs: number;
  idleRssMB: number;
  lifecycles: number;
  lifecyclesPerSecond: number;
  afterLifecyclesRssMB: number;
  restartReadyMs: number;
  restartReadyCpuMs: number;
  restartIdleRssMB: number;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function settledRss(bot: BotProcess): Promise<number> {
  await pause(SETTLE_MS);
  // The median of five samples a second apart: a timer firing mid-sample does not move it.
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(bot.rss());
    await pause(1000);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

async function runLifecycles(bot: BotProcess, lifecycles: number): Promise<number> {
  const teams = await TeamsClient.start(bot.baseUrl);
  try {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        while (next < lifecycles) {
          next++;
          await teams.lifecycle(teamsPerson(lane), "ops");
        }
      }),
    );
    if (teams.connector.violations.length > 0)
      throw new Error(`cards Teams would refuse: ${JSON.stringify(teams.connector.violations[0])}`);
    return lifecycles / ((performance.now() - started) / 1000);
  } finally {
    await teams.stop();
  }
}

async function measure(
  database: Figures["database"],
  start: (typeof STARTS)[number],
  env: Record<string, string>,
): Promise<Figures> {
  const settings = {
    ...env,
    ...(database === "embedded" ? LOCAL_TEAMS : SIGNED_TEAMS),
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
  };
  const lifecycles = database === "embedded" && start.command === "dist" ? LIFECYCLES : 0;
  const loadAverage = Math.round(loadavg()[0]! * 10) / 10;
  const bot = await startBot(start.command, settings);
  try {
    console.log(
      `${database}, ${start.name}: ready after ${Math.round(bot.readyAfterMs)} ms (${bot.readyCpuMs} ms of CPU)`,
    );
    const idle = await settledRss(bot);
    console.log(`  idle ${mb(idle)} MB; ${lifecycles} lifecycles, ${LANES} at once…`);
    const rate = lifecycles > 0 ? await runLifecycles(bot, lifecycles) : 0;
    const after = await settledRss(bot);
    console.log(`  ${rate.toFixed(1)} lifecycles/s; after them ${mb(after)} MB`);
    if ((await bot.stop()) !== 0) throw new Error(`the bot did not stop cleanly:\n${bot.output().slice(-2000)}`);
    const again = await startBot(start.command, settings);
    const restartIdle = await settledRss(again);
    await again.stop();
    console.log(
      `  restart: ready after ${Math.round(again.readyAfterMs)} ms (${again.readyCpuMs} ms of CPU), idle ${mb(restartIdle)} MB`,
    );
    return {
      database,
      start: start.name,
      loadAverage,
      readyMs: Math.round(bot.readyAfterMs),
      readyCpuMs: bot.readyCpuMs,
      idleRssMB: mb(idle),
      lifecycles,
      lifecyclesPerSecond: Math.round(rate * 10) / 10,
      afterLifecyclesRssMB: mb(after),
      restartReadyMs: Math.round(again.readyAfterMs),
      restartReadyCpuMs: again.readyCpuMs,
      restartIdleRssMB: mb(restartIdle),
    };
  } finally {
    await bot.kill();
  }
}

async function freshServerDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  const name = `pim_bench_footprint_${process.pid}`;
  await admin.unsafe(`drop database if exists ${name}`);
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

async function main() {
  const built = spawnSync(process.execPath, ["scripts/build.mjs", "--if-stale"], { cwd: ROOT, stdio: "inherit" });
  if (built.status !== 0) throw new Error("the build failed");
  const policyDir = mkdtempSync(join(tmpdir(), "pim-footprint-"));
  const policy = join(policyDir, "pim.yaml");
  writeFileSync(policy, selfServicePolicy(LANES));

  // The compiled build first on both databases, then the anchor: on a busy machine the figures
  // that matter most are in first. Results are written after each, so a cut-short run keeps them.
  const figures: Figures[] = [];
  let file = "";
  for (const start of STARTS)
    for (const database of ["embedded", "postgres"] as const) {
      if (ONLY && !ONLY.includes(`${database}:${start.command}`)) continue;
      if (database === "embedded") {
        const dataDir = mkdtempSync(join(tmpdir(), "pim-footprint-data-"));
        figures.push(await measure(database, start, { PIM_CONFIG: policy, PGLITE_DIR: join(dataDir, "data") }));
      } else {
        const db = await freshServerDatabase();
        try {
          figures.push(await measure(database, start, { PIM_CONFIG: policy, DATABASE_URL: db.url }));
        } finally {
          await db.drop();
        }
      }
      file = await writeResult(RESULT, {
        lifecycles: LIFECYCLES,
        lanes: LANES,
        settleMs: SETTLE_MS,
        targets: {
          readyMs: { embedded: 4000, postgres: 2000 },
          idleRssMB: { embedded: 300, postgres: 150 },
          afterLifecyclesRssMB: { embedded: 400 },
        },
        figures,
      });
    }
  console.table(figures);
  console.log(`written to ${file}`);
}

await main();
