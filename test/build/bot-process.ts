/**
 * The bot as a real operating-system process, started the way people start it: the compiled build
 * (`node dist/main.js`), the development loader (`node --import tsx src/main.ts`), or the `tsx`
 * command that `npm start` used to run. Used by the build tests and by bench/footprint.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/free-port.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type StartCommand = "dist" | "npm-start" | "tsx-loader" | "tsx-cli";

const COMMANDS: Record<StartCommand, (root: string) => string[]> = {
  dist: () => [process.execPath, "dist/main.js"],
  "npm-start": () => ["npm", "start"],
  "tsx-loader": () => [process.execPath, "--import", "tsx", "src/main.ts"],
  "tsx-cli": (root) => [join(root, "node_modules", ".bin", "tsx"), "src/main.ts"],
};

export interface BotProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly baseUrl: string;
  /** Milliseconds from spawn to the first /readyz that answered 200. */
  readonly readyAfterMs: number;
  /**
   * CPU time used by then, children that exited included (the embedded database's first-start
   * child): on a busy machine, a better guide than the wall clock to how fast it starts on an idle one.
   */
  readonly readyCpuMs: number;
  output(): string;
  /** Waits until the output matches, failing early if the process exits. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** Resident memory of the process and everything it started, in bytes. */
  rss(): number;
  /** CPU time (user + system) the process and everything it started have used so far, in milliseconds. */
  cpuMs(): number;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no shutdown of any kind, as a crash or the OOM killer. */
  kill(): Promise<void>;
}

/** Starts the bot with only the given settings (plus PATH and HOME) and waits until /readyz says 200. */
export async function startBot(
  how: StartCommand,
  env: Record<string, string>,
  options: { cwd?: string; readyWithinMs?: number } = {},
): Promise<BotProcess> {
  const cwd = options.cwd ?? ROOT;
  const port = await freePort();
  const [command, ...args] = COMMANDS[how](cwd);
  const started = performance.now();
  const child = spawn(command!, args, {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", HOST: "127.0.0.1", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout!.on("data", (d) => (text += d));
  child.stderr!.on("data", (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const baseUrl = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + (options.readyWithinMs ?? 300_000);
  let readyAfterMs = -1;
  let readyCpuMs = 0;
  while (readyAfterMs < 0) {
    if (!running())
      throw new Error(`the bot exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${text}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the bot was not ready within ${options.readyWithinMs ?? 300_000} ms:\n${text}`);
    }
    const status = await fetch(`${baseUrl}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) {
      readyAfterMs = performance.now() - started;
      readyCpuMs = treeCpuMs(child.pid!);
    } else await new Promise((r) => setTimeout(r, 20));
  }

  return {
    child,
    port,
    baseUrl,
    readyAfterMs,
    readyCpuMs,
    output: () => text,
    async waitFor(pattern, ms = 30_000) {
      const until = Date.now() + ms;
      while (!pattern.test(text)) {
        if (!running()) throw new Error(`the bot exited while waiting for ${pattern}:\n${text}`);
        if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}:\n${text}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    rss: () => treeRss(child.pid!),
    cpuMs: () => treeCpuMs(child.pid!),
    async stop() {
      if (running()) child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (running()) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** A process and all its descendants, from /proc. */
function processTree(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) parents.set(Number(entry), Number(stat[1]));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
}

/** The fields of /proc/<pid>/stat after the command name (state first), or null if it is gone. */
function procStat(pid: number): string[] | null {
  try {
    // pid (comm) state ppid …; comm may hold spaces and parentheses, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** VmRSS of a process and of all its descendants. */
export function treeRss(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      total += match ? Number(match[1]) * 1024 : 0;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** utime + stime + cutime + cstime of a process and its descendants, at 100 ticks a second (Linux's USER_HZ). */
export function treeCpuMs(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    const stat = procStat(p);
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    if (stat) ticks += Number(stat[11]) + Number(stat[12]) + Number(stat[13]) + Number(stat[14]);
  }
  return ticks * 10;
}

export { freePort };
