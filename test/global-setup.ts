import { existsSync } from "node:fs";

/**
 * Says once, up front, which suites will skip and why. Under CI (PIM_CI=1) nothing may skip:
 * a missing server or browser fails the run instead of passing it quietly.
 */
export default function setup(): void {
  const missing: string[] = [];
  if (!process.env.TEST_DATABASE_URL) missing.push("PostgreSQL server suites (TEST_DATABASE_URL is not set)");
  if (!existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"))
    missing.push("browser suites (/usr/bin/chromium is not installed)");
  if (missing.length === 0) return;
  if (process.env.PIM_CI) throw new Error(`CI must run every suite, but these would skip: ${missing.join("; ")}`);
  for (const m of missing) console.log(`[skip] ${m}`);
}
