import { afterEach, beforeEach, expect, it } from "vitest";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { type MfaApp, startMfaApp } from "../support/mfa-app.js";
import { deliverEvents, pageClient, wrongCode } from "./mfa-steps.js";

/** Guessing step-up codes: counted per person over every link, slowed down, locked, alerted. */
describeEachDatabase("MFA guessing limits", (driver) => {
  let app: MfaApp;
  let client: ReturnType<typeof pageClient>;
  beforeEach(async () => {
    app = await startMfaApp(driver);
    client = pageClient(app);
  });
  afterEach(() => app.stop());

  async function pendingLink(roles: string[]) {
    const request = await app.request("alice", roles);
    const link = await app.mfa.linkFor(request.requestId, request.activationId, await app.e.user("alice"));
    return { ...request, link: link! };
  }

  async function guessWrong(link: string, secret: string) {
    const { csrf } = await client.page(link);
    return client.post(link, "totp", { csrf: csrf!, code: wrongCode(await app.code(secret)) });
  }

  /** Five wrong codes, waiting out the backoff between them: the fifth locks. */
  async function lockAlice(secret: string, link: string) {
    for (let i = 1; i <= 5; i++) {
      const miss = await guessWrong(link, secret);
      expect(miss.status).toBe(i < 5 ? 422 : 403);
      app.e.clock.advance(60_000);
    }
  }

  const audited = async (event: string) => (await queryAudit(app.e.deps.db, { event: [event] })).length;

  it("five wrong codes spread over three requests lock the person: a new link is no fresh set of guesses", async () => {
    const secret = await client.invitedTotp("alice");
    const [one, two, three] = [
      await pendingLink(["reader"]),
      await pendingLink(["billing"]),
      await pendingLink(["log-reader"]),
    ];
    const left: string[] = [];
    for (const [link, wait] of [
      [one.link, 0],
      [one.link, 5_000],
      [two.link, 10_000],
      [two.link, 20_000],
    ] as const) {
      const miss = await guessWrong(link, secret);
      expect(miss.status).toBe(422);
      left.push(/(\d) tr(?:y|ies) left/.exec(miss.html)![1]!);
      app.e.clock.advance(wait);
    }
    expect(left).toEqual(["4", "3", "2", "1"]);
    const csrfThree = (await client.page(three.link)).csrf!;
    const fifth = await guessWrong(three.link, secret);
    expect(fifth.status).toBe(403);
    expect(fifth.html).toContain("Locked after too many failed attempts");

    // Locked means locked, on every link: the right code, the pages, and fresh links are refused.
    const { status } = await client.post(three.link, "totp", { csrf: csrfThree, code: await app.code(secret) });
    expect(status).toBe(403);
    for (const r of [one, two, three]) expect((await client.page(r.link)).status).toBe(403);
    const alice = await app.e.user("alice");
    expect(await app.mfa.linkFor(three.requestId, three.activationId, alice)).toBeNull();
    await expect(app.mfa.startEnrollment(alice)).rejects.toThrow();
    for (const r of [one, two, three])
      expect((await getActivation(app.e.deps.db, r.activationId))!.status).toBe("pending_mfa");
    expect(await audited("mfa.failed")).toBe(5);
    expect(await audited("mfa.locked")).toBe(1);
    expect(app.e.events.filter((e) => e.type === "alert" && e.kind !== "mfa_factor_changed")).toEqual([
      expect.objectContaining({ kind: "mfa_locked", subject: "alice" }),
    ]);
  });

  it("after two wrong codes the next try waits, doubling, and a try made too soon counts nothing", async () => {
    const secret = await client.invitedTotp("alice");
    const { link, activationId } = await pendingLink(["reader"]);
    expect((await guessWrong(link, secret)).status).toBe(422);
    expect((await guessWrong(link, secret)).status).toBe(422);

    const early = await client.post(link, "totp", { csrf: (await client.page(link)).csrf!, code: "000000" });
    expect(early.status).toBe(429);
    expect(early.html).toContain("the next one is possible in 5 seconds");
    app.e.clock.advance(4_000);
    const { csrf } = await client.page(link);
    expect((await client.post(link, "totp", { csrf: csrf!, code: await app.code(secret) })).status).toBe(429);
    expect(await audited("mfa.failed")).toBe(2);

    app.e.clock.advance(1_000);
    const right = await client.post(link, "totp", { csrf: csrf!, code: await app.code(secret) });
    expect(right.status).toBe(200);
    expect((await getActivation(app.e.deps.db, activationId))!.status).toBe("activating");
  });

  it("a lockout ends by itself after MFA_LOCKOUT, or at once when an administrator resets it", async () => {
    const secret = await client.invitedTotp("alice");
    const first = await pendingLink(["reader"]);
    await lockAlice(secret, first.link);
    app.e.clock.advance(HOUR);
    const after = await pendingLink(["billing"]);
    const { csrf } = await client.page(after.link);
    expect((await client.post(after.link, "totp", { csrf: csrf!, code: await app.code(secret) })).status).toBe(200);

    app.e.clock.advance(30_000);
    const second = await pendingLink(["log-reader"]);
    await lockAlice(secret, second.link);
    expect((await client.page(second.link)).status).toBe(403);
    const reset = await app.mfa.reset("alice", "carol");
    expect(reset).toMatchObject({ ok: true, value: { lockout: true, factorsRemoved: 0 } });
    const page = await client.page(second.link);
    expect(page.status).toBe(200);
    expect((await client.post(second.link, "totp", { csrf: page.csrf!, code: await app.code(secret) })).status).toBe(
      200,
    );
    const resets = await queryAudit(app.e.deps.db, { event: ["mfa.reset"] });
    expect(resets).toEqual([expect.objectContaining({ actor: "carol", subject: "alice" })]);
    expect((await app.mfa.reset("nobody", "carol")).ok).toBe(false);
  });

  it("every lockout is posted to the alert channel, each as an alert of its own", async () => {
    const delivery = app.delivery;
    const secret = await client.invitedTotp("alice");
    await deliverEvents(app);
    await lockAlice(secret, (await pendingLink(["reader"])).link);
    await deliverEvents(app);
    await app.mfa.reset("alice", "carol");
    await lockAlice(secret, (await pendingLink(["billing"])).link);
    await deliverEvents(app);

    const locked = delivery.alerts().filter((a) => a.rule === "mfa_locked");
    expect(locked).toHaveLength(2);
    expect(new Set(locked.map((a) => a.id)).size).toBe(2);
    expect(locked[0]).toMatchObject({ title: "MFA locked after failed attempts", subject: "alice" });
    expect(locked[0]!.text).toContain("after 5 failed attempts");
  });

  it("links are rate-limited per person: MFA_LINKS_PER_HOUR, then none until the hour has passed", async () => {
    const alice = await app.e.user("alice");
    for (let i = 0; i < 19; i++) await app.mfa.startEnrollment(alice);
    const request = await app.request("alice", ["reader"]);
    expect(await app.mfa.linkFor(request.requestId, request.activationId, alice)).not.toBeNull();
    expect(await app.mfa.linkFor(request.requestId, request.activationId, alice)).toBeNull();
    await expect(app.mfa.startEnrollment(alice)).rejects.toThrow(/too many links/);
    const refused = await queryAudit(app.e.deps.db, { event: ["mfa.link_refused"] });
    expect(refused.map((r) => r.data)).toEqual([
      expect.objectContaining({ code: "RATE_LIMITED", purpose: "activation" }),
      expect.objectContaining({ code: "RATE_LIMITED", purpose: "enroll" }),
    ]);
    // An administrator's invitation is not held back by it.
    expect((await app.mfa.invite("alice", "carol")).ok).toBe(true);
    app.e.clock.advance(HOUR);
    expect(await app.mfa.linkFor(request.requestId, request.activationId, alice)).not.toBeNull();
  });
});
