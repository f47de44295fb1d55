import { eq } from "drizzle-orm";
import type { Browser, CDPSession, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { getActivation } from "../../src/db/repos/activations.js";
import { mfaPasskeys } from "../../src/db/schema/mfa.js";
import { describeWithBrowser, launchChromium } from "../support/browser.js";
import { browserDriver, type MfaApp, startMfaApp } from "../support/mfa-app.js";

describeWithBrowser("MFA step-up in Chromium: passkeys (virtual authenticator)", () => {
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

  /** A page with Chromium's virtual platform authenticator: user verification always succeeds. */
  async function pageWithAuthenticator(): Promise<{ page: Page; cdp: CDPSession; authenticatorId: string }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(10_000);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });
    return { page, cdp, authenticatorId };
  }

  /** An administrator's invitation for alice: a passkey set up there counts at once. */
  async function invitation(): Promise<string> {
    const invited = await app.mfa.invite("alice", "carol");
    if (!invited.ok) throw new Error(invited.error.message);
    return invited.value.link;
  }

  it("registers a passkey from an invitation, then a passkey-only role is confirmed with it", async () => {
    const alice = await app.e.user("alice");
    const { page, cdp, authenticatorId } = await pageWithAuthenticator();

    await page.goto(await invitation());
    await expect.poll(() => page.locator("h1").textContent()).toBe("Set up multi-factor authentication");
    await page.click("button:has-text('Create a passkey')");
    await page.locator("h1", { hasText: "You're set up" }).waitFor();
    const stored = await app.e.deps.db.select().from(mfaPasskeys).where(eq(mfaPasskeys.principalId, alice));
    expect(stored).toHaveLength(1);
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(credentials.map((c) => Buffer.from(c.credentialId, "base64").toString("base64url"))).toEqual([
      stored[0]!.id,
    ]);

    // Global Administrator accepts passkeys only; the page offers exactly that.
    const request = await app.request("alice", ["global-admin"], "Break the admin consent loop");
    await page.goto((await app.mfa.linkFor(request.requestId, request.activationId, alice))!);
    await page.locator("button", { hasText: "Use your passkey" }).waitFor();
    expect(await page.locator("input[name=code]").count()).toBe(0);
    await page.click("button:has-text('Use your passkey')");
    await page.locator("h1", { hasText: "Confirmed" }).waitFor();
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("activating");
    const [after] = await app.e.deps.db.select().from(mfaPasskeys).where(eq(mfaPasskeys.principalId, alice));
    expect(after!.lastUsedAt).not.toBeNull();
    await page.close();
  }, 120_000);

  it("refuses an assertion when the authenticator cannot verify the user", async () => {
    const alice = await app.e.user("alice");
    const { page, cdp, authenticatorId } = await pageWithAuthenticator();
    await page.goto(await invitation());
    await page.click("button:has-text('Create a passkey')");
    await page.locator("h1", { hasText: "You're set up" }).waitFor();

    // The same passkey, but the person at the keyboard fails the PIN or biometric check.
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
    const request = await app.request("alice", ["global-admin"], "Emergency change");
    await page.goto((await app.mfa.linkFor(request.requestId, request.activationId, alice))!);
    await page.click("button:has-text('Use your passkey')");
    const status = page.locator(".passkey-status");
    await status.waitFor();
    expect(await status.textContent()).toContain("The passkey was not used");
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("pending_mfa");
    await page.close();
  }, 120_000);
});
