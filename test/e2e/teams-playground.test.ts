import { createRequire } from "node:module";
import { createServer } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Demo, startDemo } from "../../scripts/playground-demo.js";
import { cardWith, endNow, requestAndApprove, type TourPages } from "../../scripts/playground-tour.js";
import { hasChromium, launchChromium } from "../support/browser.js";

const hasPlayground = (() => {
  try {
    createRequire(import.meta.url).resolve("@microsoft/m365agentsplayground/cli.js");
    return true;
  } catch {
    return false;
  }
})();

if (hasChromium && !hasPlayground)
  console.log("[skip] Teams playground e2e: @microsoft/m365agentsplayground is not installed (npm install)");

/** Two ports in a row that nothing listens on (the demo gives each person a playground). */
async function freePorts(): Promise<number> {
  const listens = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await listens(base)) && (await listens(base + 1)) && (await listens(base + 2))) return base;
  }
}

/**
 * The demo driven through Microsoft's Agents Playground page in Chromium, a Teams client we did
 * not write: the real bot (main's start, PGlite, TEAMS_AUTH=off) behind two playgrounds, one per person.
 */
describe.skipIf(!hasChromium || !hasPlayground)("Teams in the Agents Playground", () => {
  let demo: Demo;
  let browser: Browser;
  let pages: TourPages;

  beforeAll(async () => {
    const base = await freePorts();
    demo = await startDemo({ botPort: base + 2, basePort: base, logLevel: "silent" });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it("Sam requests Global Administrator, Dana approves from her own chat, Sam's card turns active", async () => {
    pages = await requestAndApprove(browser, demo, "Rotate the tenant signing keys");
    const active = await cardWith(pages.sam, "Active until").textContent({ timeout: 5_000 });
    expect(active).toContain("Global Administrator at / — active until");
    expect(active).toContain("Rotate the tenant signing keys");
    const decided = cardWith(pages.dana, "Approved by Dana Park");
    expect(await decided.getByRole("button", { name: "Approve", exact: true }).count()).toBe(0);
  }, 90_000);

  it("Sam ends the role from the card and the card says so", async () => {
    await endNow(pages.sam);
    const ended = await cardWith(pages.sam, "ended early").textContent({ timeout: 5_000 });
    expect(ended).toContain("Global Administrator at / — ended: ended early");
    expect(await cardWith(pages.sam, "ended early").getByRole("button").count()).toBe(0);
  }, 60_000);
});
