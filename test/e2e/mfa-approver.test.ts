import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { decisionsFor, getActivation } from "../../src/db/repos/activations.js";
import { describeWithBrowser, launchChromium } from "../support/browser.js";
import { browserDriver, type MfaApp, startMfaApp } from "../support/mfa-app.js";

describeWithBrowser("approver step-up in Chromium", () => {
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

  it("an Approve click alone does not activate; the approver's completed step-up does", async () => {
    const alice = await app.e.user("alice");
    const bob = await app.e.user("bob");
    const carol = await app.e.user("carol");
    const request = await app.request("alice", ["db-admin"], "Restore the orders table");
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("pending_approval");

    // The click from chat: refused until bob steps up, and nothing is recorded as approved.
    const click = await decide(app.e.deps, {
      requestId: request.requestId,
      approverId: bob,
      decision: "approve",
      comment: "Ticket checked",
    });
    expect(click.ok).toBe(false);
    if (!click.ok) expect(click.error.code).toBe("STEP_UP_REQUIRED");
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("pending_approval");
    expect(await decisionsFor(app.e.deps.db, [request.activationId])).toHaveLength(0);

    // Only someone who may approve gets a link: not the requester, not a bystander admin.
    expect(await app.mfa.approvalLinkFor(request.requestId, alice)).toBeNull();
    expect(await app.mfa.approvalLinkFor(request.requestId, carol)).toBeNull();
    const link = (await app.mfa.approvalLinkFor(request.requestId, bob, "Ticket checked"))!;

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(10_000);
    await page.goto(link);
    await expect.poll(() => page.locator("h1").textContent()).toBe("Confirm your approval");
    const summary = await page.locator(".summary").textContent();
    expect(summary).toContain("Alice Adams");
    expect(summary).toContain("Database Administrator");
    expect(summary).toContain("Restore the orders table");
    await page.screenshot({ path: new URL("../artifacts/mfa-approver-step-up.png", import.meta.url).pathname });

    // Bob has no factor yet, and the approval link offers no set-up: the chat session alone cannot approve.
    expect(await page.locator("#totp-secret").count()).toBe(0);
    expect(await page.locator("#methods").textContent()).toContain("Type /elevate mfa setup in chat");
    expect(await decisionsFor(app.e.deps.db, [request.activationId])).toHaveLength(0);

    // An administrator's invitation sets up his authenticator app; then the approval link asks for a code.
    const invited = await app.mfa.invite("bob", "carol");
    if (!invited.ok) throw new Error(invited.error.message);
    await page.goto(invited.value.link);
    const secret = (await page.locator("#totp-secret").textContent())!.trim();
    await page.fill("#enroll-code", await app.code(secret));
    await page.click("button:has-text('Set up')");
    await page.locator("h1", { hasText: "You're set up" }).waitFor();
    expect(await decisionsFor(app.e.deps.db, [request.activationId])).toHaveLength(0);

    app.e.clock.advance(30_000);
    await page.goto(link);
    await page.fill("#code", await app.code(secret));
    await page.click("button:has-text('Confirm')");
    await page.locator("h1", { hasText: "Approved" }).waitFor();
    expect((await getActivation(app.e.deps.db, request.activationId))!.status).toBe("activating");

    const [decision] = await decisionsFor(app.e.deps.db, [request.activationId]);
    expect(decision).toMatchObject({ approverId: bob, decision: "approve", comment: "Ticket checked" });
    const audit = await queryAudit(app.e.deps.db, { requestId: request.requestId });
    expect(audit.map((r) => r.event)).toEqual(
      expect.arrayContaining(["approval.step_up_required", "mfa.passed", "approval.approve", "activation.activating"]),
    );
    expect(audit.find((r) => r.event === "approval.approve")?.data).toMatchObject({ stepUp: "totp" });

    // The link is spent: opening it again changes nothing.
    await page.goto(link);
    expect(await page.locator("h1").textContent()).toBe("This link has already been used");
    await page.close();
  }, 120_000);
});
