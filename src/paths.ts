import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the files the code reads at run time are. The code runs from one folder below the
 * repository: src/ in development, dist/ once built (where the build bundles it into a few files
 * at the top of dist/), so every path is taken from here rather than from each module's own place.
 */
const CODE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(CODE, "..");

export const PATHS = {
  /** The generated SQL migrations (drizzle-kit). */
  migrations: join(ROOT, "drizzle"),
  /** The policy used when PIM_CONFIG names no file. */
  examplePolicy: join(ROOT, "pim.example.yaml"),
  /** The MFA pages' stylesheet and scripts (copied beside the built code). */
  mfaAssets: join(CODE, "mfa", "assets"),
  /** The embedded database's template, written by the build (absent in development). */
  embeddedTemplate: join(CODE, "embedded-template.tar.gz"),
} as const;
