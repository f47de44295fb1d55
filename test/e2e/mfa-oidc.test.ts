import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { describeWithBrowser, launchChromium } from "../support/browser.js";
import { browserDriver, type MfaApp, startMfaApp } from "../support/mfa-app.js";
import { startIdp, type TestIdp } from "../support/oidc-idp.js";

describeWithBrowser("MFA step-up in Chromium: OpenID Connect against a real IdP", () => {
  let browser: Browser;
  let app: MfaApp;
  let idp: TestIdp;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());
  beforeEach(async () => {
    app = await startMfaApp(browserDriver, {
      realTime: true,
      oidc: async (publicUrl) => {
        idp = await startIdp(`${publicUrl}/mfa/oidc/callback`);
        return idp.settings;
      },
    });
  });
  afterEach(async () => {
    await app.stop();
    await idp.stop();
  });

  /** Opens the step-up link, picks the IdP and signs in there as `email`. */
  async function signInThroughIdp(link: string, email: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(10_000);
    await page.goto(link);
    await page.click("#oidc-start");
    await page.waitForURL((url) => url.origin === idp.issuer);
    await page.fill("#login", email);
    await page.click("button:has-text('Sign in')");
    await page.waitForURL((url) => url.pathname === "/mfa/oidc/callback");
    await page.locator("h1").waitFor();
    return page;
  }

  it("a sign-in with MFA for the requester's own account moves the activation on", async () => {
    const alice = await app.e.user("alice");
    const request = await app.request("alice", ["sso-admin"], "Fix the SAML certificate");
    const link = (await app.mfa.linkFor(request.requestId, request.activationId, alice))!;

    // The IdP reports alice@example.com; the principal is Alice@Example.com: case does not matter.
    const page = await signInThroughIdp(link, "alice@example.com");
    expect(await page.locator("h1").textContent()).toBe("Confirmed — thank you");
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("activating");
    const passed = (await queryAudit(app.e.deps.db, { requestId: request.requestId })).find(
      (r) => r.event === "mfa.passed",
    );
    expect(passed?.data).toMatchObject({ method: "oidc", sub: "alice@example.com", amr: ["pwd", "mfa"] });
    // Our pages send no Referer: the link's token never reaches the IdP.
    expect(idp.referers.filter((r) => r.includes("/mfa/"))).toEqual([]);
    await page.close();
  });

  it("a sign-in without MFA is refused and the activation keeps waiting", async () => {
    idp.signIn.amr = ["pwd"];
    const alice = await app.e.user("alice");
    const request = await app.request("alice", ["sso-admin"], "Fix the SAML certificate");
    const link = (await app.mfa.linkFor(request.requestId, request.activationId, alice))!;

    const page = await signInThroughIdp(link, "alice@example.com");
    expect(await page.locator("h1").textContent()).toBe("Not confirmed");
    expect(await page.locator("main").textContent()).toContain("did not use multi-factor authentication");
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("pending_mfa");
    const events = (await queryAudit(app.e.deps.db, { requestId: request.requestId })).map((r) => r.event);
    expect(events).toContain("mfa.failed");
    expect(events).not.toContain("mfa.passed");

    // The same link still works once the IdP does ask for the second factor.
    idp.signIn.amr = ["pwd", "otp", "mfa"];
    const retry = await signInThroughIdp(link, "alice@example.com");
    expect(await retry.locator("h1").textContent()).toBe("Confirmed — thank you");
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("activating");
    await page.close();
    await retry.close();
  });

  it("a sign-in as someone else is refused, even with MFA", async () => {
    const alice = await app.e.user("alice");
    const request = await app.request("alice", ["sso-admin"], "Fix the SAML certificate");
    const link = (await app.mfa.linkFor(request.requestId, request.activationId, alice))!;

    const page = await signInThroughIdp(link, "bob@example.com");
    expect(await page.locator("h1").textContent()).toBe("Not confirmed");
    expect(await page.locator("main").textContent()).toContain("You signed in as someone else");
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("pending_mfa");
    await page.close();
  });
});
