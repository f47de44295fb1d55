import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { mfaOidcBindings } from "../../src/db/schema/mfa.js";
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
    expect(passed?.data).toMatchObject({ method: "oidc", sub: "alice@example.com", amr: ["pwd", "mfa"], bound: true });
    // The first accepted sign-in binds the IdP account (issuer and subject) to Alice.
    expect(await app.e.deps.db.select().from(mfaOidcBindings)).toEqual([
      expect.objectContaining({ principalId: alice, issuer: idp.issuer, subject: "alice@example.com" }),
    ]);
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
  it("once bound, the IdP subject decides: another account claiming the same email is refused", async () => {
    const alice = await app.e.user("alice");
    const first = await app.request("alice", ["sso-admin"], "Fix the SAML certificate");
    const bound = await signInThroughIdp(
      (await app.mfa.linkFor(first.requestId, first.activationId, alice))!,
      "alice@example.com",
    );
    expect(await bound.locator("h1").textContent()).toBe("Confirmed — thank you");
    await bound.close();

    // An account whose administrator set its mail to Alice's, verified and with MFA.
    idp.accounts.set("impostor", { email: "alice@example.com", email_verified: true });
    const second = await app.request("alice", ["reader"], "Rotate the signing key");
    const page = await signInThroughIdp(
      (await app.mfa.linkFor(second.requestId, second.activationId, alice))!,
      "impostor",
    );
    expect(await page.locator("h1").textContent()).toBe("Not confirmed");
    expect(await page.locator("main").textContent()).toContain("You signed in as someone else");
    expect((await getActivation(app.e.deps.db, second.activationId))!.status).toBe("pending_mfa");
    await page.close();
  }, 120_000);

  it("a first sign-in that does not say the email is verified binds nothing and confirms nothing", async () => {
    idp.accounts.set("alice@example.com", { email: "alice@example.com", email_verified: undefined });
    const alice = await app.e.user("alice");
    const request = await app.request("alice", ["sso-admin"], "Fix the SAML certificate");
    const page = await signInThroughIdp(
      (await app.mfa.linkFor(request.requestId, request.activationId, alice))!,
      "alice@example.com",
    );
    expect(await page.locator("h1").textContent()).toBe("Not confirmed");
    expect(await page.locator("main").textContent()).toContain("not said that your email address is verified");
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("pending_mfa");
    expect(await app.e.deps.db.select().from(mfaOidcBindings)).toEqual([]);
    await page.close();
  }, 120_000);

  it("the way back from the IdP works only in the browser that started the sign-in", async () => {
    const alice = await app.e.user("alice");
    const request = await app.request("alice", ["sso-admin"], "Fix the SAML certificate");
    const link = (await app.mfa.linkFor(request.requestId, request.activationId, alice))!;
    const started = await browser.newPage();
    started.setDefaultTimeout(10_000);
    await started.goto(link);
    await started.click("#oidc-start");
    await started.waitForURL((url) => url.origin === idp.issuer);
    await started.fill("#login", "alice@example.com");
    // Hold the IdP's redirect back (a redirect hop, which only the DevTools protocol can pause),
    // as if its address were copied to another browser.
    const cdp = await started.context().newCDPSession(started);
    const held = new Promise<string>((resolve) => {
      cdp.on("Fetch.requestPaused", (paused) => {
        void cdp.send("Fetch.failRequest", { requestId: paused.requestId, errorReason: "Aborted" });
        resolve(paused.request.url);
      });
    });
    await cdp.send("Fetch.enable", { patterns: [{ urlPattern: "*/mfa/oidc/callback*", requestStage: "Request" }] });
    await started.click("button:has-text('Sign in')", { noWaitAfter: true }).catch(() => {});
    const callback = await held;
    await cdp.send("Fetch.disable");

    const elsewhere = await browser.newPage();
    await elsewhere.goto(callback);
    expect(await elsewhere.locator("h1").textContent()).toBe("This sign-in was started in another browser");
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("pending_mfa");
    const refused = await queryAudit(app.e.deps.db, { event: ["mfa.refused"] });
    expect(refused.map((r) => [r.actor, r.data.code])).toEqual([["alice", "OIDC_OTHER_BROWSER"]]);

    // The browser that started it still finishes it.
    await started.goto(callback);
    expect(await started.locator("h1").textContent()).toBe("Confirmed — thank you");
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("activating");
    await elsewhere.close();
    await started.close();
  }, 120_000);

  it("with an IdP, a first factor is set up only after signing in there, and then counts at once", async () => {
    const alice = await app.e.user("alice");
    const setup = await app.mfa.startEnrollment(alice);
    const page = await signInThroughIdp(setup, "alice@example.com");
    expect(await page.locator("h1").textContent()).toBe("Confirmed");
    await page.goto(setup);
    const secret = (await page.locator("#totp-secret").textContent())!.trim();
    await page.fill("#enroll-code", await app.code(secret));
    await page.click("button:has-text('Set up')");
    await page.locator("h1", { hasText: "You're set up" }).waitFor();
    const added = await queryAudit(app.e.deps.db, { event: ["mfa.factor_added"] });
    expect(added.map((r) => r.data)).toEqual([expect.objectContaining({ method: "totp", via: "oidc" })]);
    await page.close();
  }, 120_000);
});
