import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { freePort } from "../support/free-port.js";

const root = new URL("../../", import.meta.url).pathname;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** Starts `src/main.ts` the way `npm start` does, with only the given settings. */
function startBot(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, ms = 40_000) => {
    const deadline = Date.now() + ms;
    while (!pattern.test(output)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${output}`);
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, output: () => output, waitFor, exited };
}

it("starts with no settings on PGlite and the example policy, says what is disabled, and keeps running", {
  timeout: 120_000,
}, async () => {
  const port = await freePort();
  const bot = startBot({
    PORT: String(port),
    PGLITE_DIR: mkdtempSync(join(tmpdir(), "pim-start-")),
    PIM_CONFIG: "/nonexistent/pim.yaml",
  });
  await bot.waitFor(/pim-bot is running/);
  expect(bot.output()).toMatch(/"driver":"pglite"/);
  expect(bot.output()).toMatch(/using the shipped example policy/);
  expect(bot.output()).toMatch(/"platform":"Slack","why":"SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set"/);
  expect(bot.output()).toMatch(/"platform":"Teams"/);
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  expect(await ready.json()).toEqual({ checks: [{ name: "database", ok: true }] });
  // No METRICS_TOKEN and no METRICS_AUTH=off: /metrics is closed.
  expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
  expect(bot.child.exitCode).toBeNull();
  bot.child.kill("SIGTERM");
  expect(await bot.exited).toBe(0);
});

it("refuses to start on a bad setting, naming it", async () => {
  const bot = startBot({ PORT: "not-a-port", PGLITE_DIR: mkdtempSync(join(tmpdir(), "pim-start-")) });
  expect(await bot.exited).toBe(1);
  expect(bot.output()).toMatch(/Bad configuration: PORT:/);
});

it("refuses to start on an invalid policy file, naming the path inside it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pim-start-"));
  const file = join(dir, "pim.yaml");
  writeFileSync(
    file,
    "version: 1\nusers: []\nroles:\n  - { key: r, name: R, policy: { activation: { maxDuration: 30h } } }\n",
  );
  const bot = startBot({ PGLITE_DIR: dir, PIM_CONFIG: file, PORT: String(await freePort()) });
  expect(await bot.exited).toBe(1);
  expect(bot.output()).toMatch(/roles\[0\]\.policy\.activation\.maxDuration: must be at most 24h/);
});
