import { type ChildProcess, spawn } from "node:child_process";
import { freePort } from "../../support/free-port.js";

const ROOT = new URL("../../../", import.meta.url).pathname;

export interface BotProcess {
  child: ChildProcess;
  port: number;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string | null>;
  alive(): boolean;
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** Starts `src/main.ts` as `npm start` does, on a free loopback port, with only the given settings. */
export async function startBot(env: Record<string, string>): Promise<BotProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | string | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal)),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    port,
    output: () => output,
    exited,
    alive,
    async waitFor(pattern, ms = 60_000) {
      const deadline = Date.now() + ms;
      while (!pattern.test(output)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${output}`);
        if (!alive()) throw new Error(`the bot exited (${child.exitCode ?? child.signalCode}); output:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
    async stop() {
      if (!alive()) return;
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export { freePort };
