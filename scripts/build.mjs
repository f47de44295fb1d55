#!/usr/bin/env node
/**
 * Bundles src/ into dist/ (esbuild; `npm run typecheck` checks the types), copies the files the
 * code reads next to itself (the MFA pages' assets) and writes the embedded database's template (an empty,
 * migrated database that a first start unpacks instead of running initdb and every migration).
 * Plain JavaScript, so that it runs where only the production dependencies are installed.
 *
 *   node scripts/build.mjs              build
 *   node scripts/build.mjs --if-stale   build only when dist/ is missing or older than the sources
 *   node scripts/build.mjs --out DIR    build into DIR instead of dist/
 *
 * Everything it prints goes to stderr, so that `npm run pim -- audit export > file` stays clean.
 */
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Written last: its time is when the build finished. */
const STAMP = ".built";
/** What a build reads: a change to any of them makes dist/ stale. */
const INPUTS = ["src", "drizzle", "package.json", "package-lock.json"];
/**
 * The programs, each bundled into one file at the top of dist/ with the chunks they share (see
 * src/paths.ts): node then reads a few files at start-up instead of hundreds.
 */
const ENTRIES = {
  main: "src/main.ts",
  cli: "src/cli.ts",
  "write-embedded-template": "src/db/write-embedded-template.ts",
};
/**
 * Dependencies bundled with the code: pure ES modules of hundreds of small files each. The others
 * are loaded from node_modules as they are (native parts, worker threads, files beside them).
 */
const BUNDLED = ["drizzle-orm", "zod"];
/** Files under src/ that are not TypeScript and are read at run time from beside the code. */
const ASSETS = ["mfa/assets"];

const { values } = parseArgs({ options: { "if-stale": { type: "boolean" }, out: { type: "string" } } });
const outDir = resolve(ROOT, values.out ?? "dist");

if (values["if-stale"]) {
  const stale = staleness(outDir);
  if (stale) {
    console.error(`building ${relative(ROOT, outDir) || "."}/: ${stale}`);
    await build(outDir);
  }
} else await build(outDir);

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

async function build(dir) {
  const esbuild = await bundler();
  // A previous build's files would linger beside the new ones (chunk names change with their content).
  if (existsSync(join(dir, STAMP))) rmSync(dir, { recursive: true, force: true });
  const dependencies = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).dependencies);
  try {
    await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: ENTRIES,
      outdir: dir,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      external: dependencies.filter((name) => !BUNDLED.includes(name)).flatMap((name) => [name, `${name}/*`]),
      chunkNames: "chunk-[hash]",
      sourcemap: true,
      logLevel: "warning",
    });
  } catch {
    console.error("the build failed (esbuild's messages are above)");
    process.exit(1);
  }
  for (const asset of ASSETS) cpSync(join(ROOT, "src", asset), join(dir, asset), { recursive: true });
  chmodSync(join(dir, "cli.js"), 0o755);
  const template = await import(pathToFileURL(join(dir, "write-embedded-template.js")).href);
  await template.writeEmbeddedTemplate();
  writeFileSync(join(dir, STAMP), `${new Date().toISOString()}\n`);
}

async function bundler() {
  try {
    return await import("esbuild");
  } catch {
    console.error(
      "dist/ must be built, and esbuild (a development dependency) is not installed here.\n" +
        "Build where it is (`npm ci && npm run build`) and ship dist/ with the code, or run `npm ci` without --omit=dev.",
    );
    process.exit(1);
  }
}
