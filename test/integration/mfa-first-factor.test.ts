import { eq } from "drizzle-orm";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { decisionsFor, getActivation } from "../../src/db/repos/activations.js";
import { mfaTokens } from "../../src/db/schema/mfa.js";
import { DAY, HOUR } from "../../src/domain/duration.js";
import { listFactors } from "../../src/mfa/factors.js";
import { hashToken } from "../../src/mfa/tokens.js";
import { describeEachDatabase } from "../support/databases.js";
import { type MfaApp, startMfaApp, tokenOf } from "../support/mfa-app.js";
import { deliverEvents, pageClient, type RecordingDelivery } from "./mfa-steps.js";

/**
 * No trust on first use: a chat session alone never sets up the factor that then passes its own
 * step-up. The first factor is proven (IdP sign-in, an administrator's invitation) or waits out
 * MFA_ENROLLMENT_DELAY while the person and the administrators are told.
 */
describeEachDatabase("MFA first factor", (driver) => {
  let app: MfaApp;
  let client: ReturnType<typeof pageClient>;
  let delivery: RecordingDelivery;
  beforeEach(async () => {
    app = await startMfaApp(driver);
    client = pageClient(app);
    delivery = app.delivery;
  });
  afterEach(() => app.stop());

  const statusOf = async (activationId: string) => (await getActivation(app.e.deps.db, activationId))!.status;
  const events = async (event: string) => queryAudit(app.e.deps.db, { event: [event] });

  /** The form token behind a link, as someone who forges a post without the page's form would need it. */
  async function csrfOf(link: string): Promise<string> {
    const [row] = await app.e.deps.db
      .select({ csrf: mfaTokens.csrf })
      .from(mfaTokens)
      .where(eq(mfaTokens.tokenHash, hashToken(tokenOf(link))));
    return row!.csrf;
  }

  async function pendingLink(user: string, roles = ["reader"]) {
    const request = await app.request(user, roles);
    const link = (await app.mfa.linkFor(request.requestId, request.activationId, await app.e.user(user)))!;
    return { ...request, link };
  }

  it("an activation link never offers enrollment to someone with no factor; a forged enrollment is refused and audited", async () => {
    const { link, activationId } = await pendingLink("alice");
    const shown = await client.page(link);
    expect(shown.status).toBe(200);
    expect(shown.html).not.toContain("totp-secret");
    expect(shown.html).not.toContain("Create a passkey");
    expect(shown.html).toContain("Type /elevate mfa setup in chat");

    expect(shown.csrf).toBeNull();
    const forged = await client.post(link, "totp/enroll", { csrf: await csrfOf(link), code: "123456" });
    expect(forged.status).toBe(400);
    expect(forged.html).toContain("Not available here");
    expect(await statusOf(activationId)).toBe("pending_mfa");
    expect(await listFactors(app.e.deps.db, await app.e.user("alice"))).toEqual([]);
    expect((await events("mfa.refused")).map((r) => r.data)).toEqual([
      expect.objectContaining({ code: "NOT_OFFERED", step: "totp/enroll", purpose: "activation" }),
    ]);
  });

  it("an approval link never offers enrollment: an approver with no factor cannot approve from the chat session alone", async () => {
    const request = await app.request("alice", ["db-admin"]);
    const bob = await app.e.user("bob");
    const click = await decide(app.e.deps, { requestId: request.requestId, approverId: bob, decision: "approve" });
    expect(!click.ok && click.error.code).toBe("STEP_UP_REQUIRED");
    const link = (await app.mfa.approvalLinkFor(request.requestId, bob))!;
    const shown = await client.page(link);
    expect(shown.html).toContain("Confirm your approval");
    expect(shown.html).not.toContain("totp-secret");
    expect(shown.html).not.toContain("Create a passkey");
    const forged = await client.post(link, "passkey", { csrf: await csrfOf(link), action: "enroll", response: "{}" });
    expect(forged.status).toBe(400);
    expect(await decisionsFor(app.e.deps.db, [request.activationId])).toHaveLength(0);
    expect(await statusOf(request.activationId)).toBe("pending_approval");
  });

  it("with no IdP and no invitation, a first factor counts only after MFA_ENROLLMENT_DELAY, and the person and the admins are told", async () => {
    const setup = await app.mfa.startEnrollment(await app.e.user("alice"));
    expect((await client.page(setup)).html).toContain("counts after 1d");
    const enrolled = await client.enrollTotpOn(setup);
    expect(enrolled.html).toContain("Set up, counting later");
    app.e.clock.advance(30_000);

    // Until then the factor does not count: the step-up page offers nothing and says when it will.
    const early = await pendingLink("alice");
    const page = await client.page(early.link);
    expect(page.html).not.toContain('id="code"');
    expect(page.html).toContain("counts from");
    const tried = await client.post(early.link, "totp", {
      csrf: await csrfOf(early.link),
      code: await app.code(enrolled.secret),
    });
    expect(tried.status).toBe(400);
    expect(await statusOf(early.activationId)).toBe("pending_mfa");

    await deliverEvents(app);
    expect(delivery.factorNotices()).toEqual([
      expect.objectContaining({ to: "alice", change: "added", via: "delay", forAdmins: false }),
      expect.objectContaining({ to: "carol", change: "added", via: "delay", forAdmins: true }),
    ]);
    expect(delivery.alerts().map((a) => [a.rule, a.title, a.subject])).toEqual([
      ["mfa_factor_changed", "First MFA factor set up without proof", "alice"],
    ]);
    expect((await events("mfa.factor_added")).map((r) => r.data)).toEqual([
      expect.objectContaining({ method: "totp", via: "delay" }),
    ]);

    app.e.clock.advance(DAY);
    const later = await pendingLink("alice", ["billing"]);
    const { csrf } = await client.page(later.link);
    const confirmed = await client.post(later.link, "totp", { csrf: csrf!, code: await app.code(enrolled.secret) });
    expect(confirmed.status).toBe(200);
    expect(await statusOf(later.activationId)).toBe("activating");
  });

  it("an administrator's invitation sets up a first factor that counts at once, and expires after MFA_INVITATION_TTL", async () => {
    const invited = await app.mfa.invite("bob", "carol");
    if (!invited.ok) throw new Error(invited.error.message);
    const page = await client.page(invited.value.link);
    expect(page.html).toContain("Set up multi-factor authentication");
    expect(page.html).not.toContain("counts after");
    const { secret, html } = await client.enrollTotpOn(invited.value.link);
    expect(html).toContain("You&#39;re set up");
    app.e.clock.advance(30_000);

    const request = await app.request("alice", ["db-admin"]);
    const link = (await app.mfa.approvalLinkFor(request.requestId, await app.e.user("bob")))!;
    const { csrf } = await client.page(link);
    expect((await client.post(link, "totp", { csrf: csrf!, code: await app.code(secret) })).status).toBe(200);
    expect(await statusOf(request.activationId)).toBe("activating");
    expect((await events("mfa.invited")).map((r) => [r.actor, r.subject])).toEqual([["carol", "bob"]]);
    expect((await events("mfa.factor_added")).map((r) => r.data)).toEqual([
      expect.objectContaining({ method: "totp", via: "invitation" }),
    ]);

    const unused = await app.mfa.invite("alice", "carol");
    app.e.clock.advance(72 * HOUR);
    expect((await client.page(unused.ok ? unused.value.link : "")).status).toBe(410);
    expect((await app.mfa.invite("nobody", "carol")).ok).toBe(false);
  });

  it("someone with a factor proves it before changing any; they list, replace and remove their own factors, each change told", async () => {
    const secret = await client.invitedTotp("alice");
    const setup = await app.mfa.startEnrollment(await app.e.user("alice"));
    const before = await client.page(setup);
    expect(before.html).toContain('id="code"');
    expect(before.html).not.toContain("totp-secret");
    expect(before.html).not.toContain("Your ways to confirm");
    const [factor] = await listFactors(app.e.deps.db, await app.e.user("alice"));
    const unproven = await client.post(setup, "factor/remove", { csrf: before.csrf!, factor: factor!.id });
    expect(unproven.status).toBe(403);
    expect(await listFactors(app.e.deps.db, await app.e.user("alice"))).toHaveLength(1);

    // Proven with the app: the page lists the factor with Remove, and offers a new one.
    const proven = await client.post(setup, "totp", { csrf: before.csrf!, code: await app.code(secret) });
    expect(proven.status).toBe(200);
    expect(proven.html).toContain("Your ways to confirm it's you");
    expect(proven.html).toContain(`value="${factor!.id}"`);
    const replaced = await client.enrollTotpOn(setup);
    expect(replaced.html).toContain("You&#39;re set up");
    app.e.clock.advance(30_000);

    const again = await app.mfa.startEnrollment(await app.e.user("alice"));
    const { csrf } = await client.page(again);
    await client.post(again, "totp", { csrf: csrf!, code: await app.code(replaced.secret) });
    const [current] = await listFactors(app.e.deps.db, await app.e.user("alice"));
    const removed = await client.post(again, "factor/remove", { csrf: csrf!, factor: current!.id });
    expect(removed.status).toBe(200);
    expect(removed.html).toContain("Your authenticator app was removed.");
    expect(await listFactors(app.e.deps.db, await app.e.user("alice"))).toEqual([]);

    await deliverEvents(app);
    // Each change is told once; notices are delivered as their events arrive, in no set order.
    const told = delivery.factorNotices().map((n) => [n.to, n.change, n.via]);
    expect(told).toHaveLength(3);
    expect(told).toEqual(
      expect.arrayContaining([
        ["alice", "added", "invitation"],
        ["alice", "replaced", "factor"],
        ["alice", "removed", null],
      ]),
    );
    expect(delivery.alerts().map((a) => a.rule)).toEqual([
      "mfa_factor_changed",
      "mfa_factor_changed",
      "mfa_factor_changed",
    ]);
    expect(delivery.alerts().some((a) => a.text.includes("was removed"))).toBe(true);
  });

  it("an administrator's reset with factors removes them all, told to the person and the alert channel", async () => {
    await client.invitedTotp("alice");
    await deliverEvents(app);
    const reset = await app.mfa.reset("alice", "carol", true);
    expect(reset).toMatchObject({ ok: true, value: { factorsRemoved: 1 } });
    expect(await listFactors(app.e.deps.db, await app.e.user("alice"))).toEqual([]);
    await deliverEvents(app);
    expect(delivery.factorNotices().at(-1)).toMatchObject({ to: "alice", change: "removed", by: "carol" });
    expect(delivery.alerts().at(-1)!.text).toContain("removed by carol");
  });
});
