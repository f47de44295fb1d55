import { copyFileSync, mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { describeWithBrowser, launchChromium } from "../support/browser.js";
import { browserDriver, type MfaApp, startMfaApp } from "../support/mfa-app.js";

const ARTIFACTS = new URL("../artifacts/", import.meta.url);
const README_IMAGE = new URL("../../docs/images/mfa-step-up.png", import.meta.url);

describeWithBrowser("MFA step-up in Chromium: authenticator app (TOTP)", () => {
  let browser: Browser;
  let app: MfaApp;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());
  beforeEach(async () => {
    app = await startMfaApp(browserDriver);
  });
  afterEach(() => app.stop());

  async function open(link: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    page.setDefaultTimeout(10_000);
    await page.goto(link);
    return page;
  }

  async function statusOf(activationId: string) {
    return (await getActivation(app.e.deps.db, activationId))!.status;
  }

  it("a step-up link offers no set-up; an invitation sets up the app, then requests are confirmed with codes", async () => {
    const alice = await app.e.user("alice");
    const first = await app.request("alice", ["reader"], "Rotate the <b>prod</b> keys");
    const link = (await app.mfa.linkFor(first.requestId, first.activationId, alice))!;
    expect(link.startsWith(`${app.publicUrl}/mfa/`)).toBe(true);

    const page = await open(link);
    await expect.poll(() => page.locator("h1").textContent()).toBe("Confirm your activation");
    const summary = await page.locator(".summary").textContent();
    expect(summary).toContain("Reader");
    expect(summary).toContain("/mg/prod");
    expect(summary).toContain("1h");
    // The justification is shown as the text typed, never as markup.
    expect(summary).toContain("Rotate the <b>prod</b> keys");
    expect(await page.locator(".summary b").count()).toBe(0);
    // Whoever holds the chat session cannot set up a factor here and pass with it.
    expect(await page.locator("#totp-secret").count()).toBe(0);
    expect(await page.locator("#methods").textContent()).toContain("Type /elevate mfa setup in chat");
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL("mfa-no-factor-desktop.png", ARTIFACTS).pathname, fullPage: true });

    // An administrator's invitation, handed over outside the chat, sets up the app at once.
    const invited = await app.mfa.invite("alice", "carol");
    if (!invited.ok) throw new Error(invited.error.message);
    await page.goto(invited.value.link);
    await expect.poll(() => page.locator("h1").textContent()).toBe("Set up multi-factor authentication");
    await page.screenshot({ path: new URL("mfa-enroll-desktop.png", ARTIFACTS).pathname, fullPage: true });
    const secret = (await page.locator("#totp-secret").textContent())!.trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.fill("#enroll-code", await app.code(secret));
    await page.click("button:has-text('Set up')");
    await page.locator("h1", { hasText: "You're set up" }).waitFor();

    // The same step-up link now asks for a code from that app (a later time step).
    app.e.clock.advance(30_000);
    await page.goto(link);
    await page.fill("#code", await app.code(secret));
    await page.click("button:has-text('Confirm')");
    await page.locator("h1", { hasText: "Confirmed" }).waitFor();
    expect(await page.locator("main").textContent()).toContain("Reader at /mg/prod is being granted");
    expect(await statusOf(first.activationId)).toBe("activating");
    await app.e.worker.drain();
    expect(await statusOf(first.activationId)).toBe("active");
    await page.close();

    // Next time, too (a later time step).
    app.e.clock.advance(30_000);
    const second = await app.request("alice", ["billing", "log-reader"], "Quarter-end close: reconcile invoices");
    expect(await statusOf(second.activationId)).toBe("pending_mfa");
    const link2 = (await app.mfa.linkFor(second.requestId, second.activationId, alice))!;
    const desktop = await open(link2);
    await desktop.locator("#code").waitFor();
    expect(await desktop.locator("#totp-secret").count()).toBe(0);
    await desktop.screenshot({ path: new URL("mfa-step-up-desktop.png", ARTIFACTS).pathname, fullPage: true });
    // The README's picture is refreshed on request only, so a test run leaves the tree clean.
    if (process.env.UPDATE_README_IMAGES) {
      mkdirSync(new URL(".", README_IMAGE), { recursive: true });
      copyFileSync(new URL("mfa-step-up-desktop.png", ARTIFACTS), README_IMAGE);
    }
    await desktop.setViewportSize({ width: 390, height: 844 });
    await desktop.screenshot({ path: new URL("mfa-step-up-narrow.png", ARTIFACTS).pathname, fullPage: true });

    await desktop.fill("#code", await app.code(secret));
    await desktop.click("button:has-text('Confirm')");
    await desktop.locator("h1", { hasText: "Confirmed" }).waitFor();
    expect(await statusOf(second.activationId)).toBe("activating");

    const events = (await queryAudit(app.e.deps.db, { requestId: second.requestId })).map((r) => r.event);
    expect(events).toContain("mfa.passed");
    expect(events).toContain("activation.activating");
  }, 120_000);
});
