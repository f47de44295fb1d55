import { describe } from "vitest";
import { throwawayUnavailable } from "./throwaway-postgres.js";

/**
 * Suites that restart a PostgreSQL server of their own. Where one cannot be started they skip
 * with one line saying why, except under CI (PIM_CI=1), where nothing may skip.
 */
export function describeWithThrowawayServer(title: string, suite: () => void): void {
  const why = throwawayUnavailable();
  if (why && process.env.PIM_CI) throw new Error(`CI must run every suite, but "${title}" would skip: ${why}`);
  if (why) console.log(`[skip] ${title}: ${why}`);
  describe.skipIf(Boolean(why))(title, suite);
}
