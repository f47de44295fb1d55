#!/usr/bin/env node
/**
 * Compiles src/ to dist/ (tsc with tsconfig.build.json) and copies the files the code reads next
 * to itself (the MFA pages' assets). Plain JavaScript, so that it runs where only the production
 * dependencies are installed.
 *
 *   node scripts/build.mjs              build
 *   node scripts/build.mjs --if-stale   build only when dist/ is missing or older than the sources
 *   node scripts/build.mjs --out DIR    build into DIR instead of dist/
 *
 * Everything it prints goes to stderr, so that `npm run pim -- audit export > file` stays clean.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Written last: its time is when the build finished. */
const STAMP = ".built";
/** What a build reads: a change to any of them makes dist/ stale. */
const INPUTS = ["src", "tsconfig.json", "tsconfig.build.json"];
/** Files under src/ that are not TypeScript and are read at run time from beside the code. */
const ASSETS = ["mfa/assets"];

const { values } = parseArgs({ options: { "if-stale": { type: "boolean" }, out: { type: "string" } } });
const outDir = resolve(ROOT, values.out ?? "dist");

if (values["if-stale"]) {
  const stale = staleness(outDir);
  if (stale) {
    console.error(`building ${relative(ROOT, outDir) || "."}/: ${stale}`);
    build(outDir);
  }
} else build(outDir);

/** Why dist/ must be rebuilt, or null when it is up to date (or there are no sources to build from). */
function staleness(dir) {
  if (!existsSync(join(ROOT, "src"))) return null;
  const stamp = join(dir, STAMP);
  if (!existsSync(stamp)) return "no build yet";
  const builtAt = statSync(stamp).mtimeMs;
  const newer = INPUTS.map((p) => join(ROOT, p)).find((p) => existsSync(p) && newestMtime(p) > builtAt);
  return newer ? `${relative(ROOT, newer)} changed since the last build` : null;
}

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function build(dir) {
  const tsc = typescriptCompiler();
  const ran = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", dir], {
    cwd: ROOT,
    stdio: ["ignore", process.stderr, process.stderr],
  });
  if (ran.status !== 0) {
    console.error(`the build failed (tsc exited with ${ran.status ?? ran.signal})`);
    process.exit(1);
  }
  for (const asset of ASSETS) cpSync(join(ROOT, "src", asset), join(dir, asset), { recursive: true });
  chmodSync(join(dir, "cli.js"), 0o755);
  writeFileSync(join(dir, STAMP), `${new Date().toISOString()}\n`);
}

function typescriptCompiler() {
  try {
    return createRequire(import.meta.url).resolve("typescript/bin/tsc");
  } catch {
    console.error(
      "dist/ must be built, and TypeScript (a development dependency) is not installed here.\n" +
        "Build where it is (`npm ci && npm run build`) and ship dist/ with the code, or run `npm ci` without --omit=dev.",
    );
    process.exit(1);
  }
}
