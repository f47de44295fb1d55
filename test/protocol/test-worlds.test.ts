/**
 * The test worlds themselves: a world on either platform fails its test when pim-bot logged an
 * error during it, so a handler that fails behind a 200 answer cannot pass unnoticed.
 */
import { expect, it } from "vitest";
import { describeChat } from "../support/databases.js";
import { teamsUser } from "../support/teams/teams-world.js";
import { loggedErrorsSoFar } from "../support/test-log.js";
import { type Platform, startWorld, type World } from "../support/world.js";

describeChat("a test world fails its test on a logged error", (driver) => {
  const typed: Record<Platform, (w: World) => Promise<unknown>> = {
    slack: (w) => w.slack!.command("U0ALICE", "mfa setup"),
    teams: (w) => w.teams!.message(teamsUser("alice"), "elevate mfa setup"),
  };
  for (const platform of ["slack", "teams"] as const)
    it(`on ${platform}: a command whose handler fails`, async () => {
      const w = await startWorld(driver, { platforms: [platform] });
      w.bot.ports.startMfaEnrollment = async () => {
        throw new Error("the MFA module is broken");
      };
      await typed[platform](w);
      await w.settle();
      expect(loggedErrorsSoFar().join("\n")).toContain("the MFA module is broken");
      await expect(w.dispose()).rejects.toThrow(/pim-bot logged errors/);
    });
});
