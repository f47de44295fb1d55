import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./worker-process.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves once the process says it is running. */
  ready: Promise<void>;
  /** Whatever it wrote to stderr, for failure messages. */
  stderr(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL: no cleanup, no lease released, like a crash or an OOM kill. */
  kill(): Promise<void>;
}

/** Starts test/support/worker-process.ts as a real separate Node process. */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes('"ready":true')) resolve();
    });
    child.once("exit", (code) => reject(new Error(`worker process exited (${code}) before it was ready: ${err}`)));
  });
  ready.catch(() => {});
  return {
    child,
    ready,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
