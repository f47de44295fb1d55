/**
 * The compiled build, the way people get it: a copy of the repository with no dist/, where
 * `npm start` builds and starts the bot; then the same copy with the production dependencies
 * alone (`npm ci --omit=dev`), where the bot and the CLI start from dist/ with no TypeScript,
 * no tsx and no test tools installed. Slow (a build and an `npm ci`), so it is all one test.
 */
import { execFile, execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterEach, expect, it } from "vitest";
import { type BotProcess, ROOT, startBot } from "./bot-process.js";

const run = promisify(execFile);
const running: BotProcess[] = [];
afterEach(async () => {
  for (const bot of running.splice(0)) await bot.kill();
});

/** The repository's files as a fresh clone has them (tracked or new, nothing ignored), without dist/. */
function copyRepository(): string {
  const copy = mkdtempSync(join(tmpdir(), "pim-dist-"));
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: ROOT })
    .toString("utf8")
    .split("\0")
    .filter((f) => f && existsSync(join(ROOT, f)));
  for (const file of files) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(copy, file));
  }
  return copy;
}

const settings = (copy: string) => ({
  PGLITE_DIR: join(copy, "data"),
  PIM_CONFIG: join(copy, "no-such-policy.yaml"),
  LOG_FORMAT: "json",
});

async function cli(copy: string, args: string[]) {
  const bin = JSON.parse(readFileSync(join(copy, "package.json"), "utf8")).bin.pim as string;
  // Run as the `pim` command is: the file itself, through its #! line.
  return run(join(copy, bin), args, {
    cwd: copy,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PGLITE_DIR: join(copy, "data") },
  });
}

it("builds on the first npm start, then starts the bot and the CLI from dist/ with production dependencies only", {
  timeout: 1_800_000,
}, async () => {
  const copy = copyRepository();
  expect(existsSync(join(copy, "dist"))).toBe(false);

  // 1. A fresh clone with its dependencies installed: the first `npm start` builds dist/.
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"), "dir");
  const first = await startBot("npm-start", settings(copy), { cwd: copy, readyWithinMs: 900_000 });
  running.push(first);
  expect(first.output()).toMatch(/building dist\/: no build yet/);
  await first.waitFor(/pim-bot is running/);
  expect(await first.stop()).toBe(0);
  expect(existsSync(join(copy, "dist", "main.js"))).toBe(true);
  unlinkSync(join(copy, "node_modules"));

  // 2. Production dependencies only.
  await run("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"], {
    cwd: copy,
    env: { ...process.env, NODE_ENV: "production" },
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const dev of ["typescript", "tsx", "vitest", "@biomejs/biome", "drizzle-kit"])
    expect(existsSync(join(copy, "node_modules", dev)), dev).toBe(false);

  const bot = await startBot("npm-start", settings(copy), { cwd: copy, readyWithinMs: 300_000 });
  running.push(bot);
  await bot.waitFor(/pim-bot is running/);
  const output = bot.output();
  expect(output).not.toMatch(/building dist/);
  expect(output).toMatch(/using the shipped example policy/); // pim.example.yaml, found from dist/
  expect(output).toMatch(/"msg":"policy applied"/); // after the migrations in drizzle/, found from dist/
  for (const asset of ["mfa.css", "passkey.js", "webauthn.js"])
    expect((await fetch(`${bot.baseUrl}/mfa/assets/${asset}`)).status, asset).toBe(200);
  expect(await bot.stop()).toBe(0);

  const checked = await cli(copy, ["check", join(copy, "pim.example.yaml")]);
  expect(checked.stdout).toMatch(/pim\.example\.yaml is valid: \d+ roles/);
  const verified = await cli(copy, ["audit", "verify"]);
  expect(verified.stdout).toMatch(/intact/);

  // 3. Sources newer than the build, and nothing to build with: a clear refusal, not a stale start.
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(copy, "src", "main.ts"), later, later);
  const stale = await startBot("npm-start", settings(copy), { cwd: copy, readyWithinMs: 60_000 }).then(
    () => "started",
    (error: Error) => error.message,
  );
  expect(stale).toMatch(/src changed since the last build/);
  expect(stale).toMatch(/esbuild \(a development dependency\) is not installed/);
});
