import { createHash } from "node:crypto";
import { afterEach, beforeEach, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { mfaFailures, mfaTokens, mfaTotpSecrets } from "../../src/db/schema/mfa.js";
import { describeEachDatabase } from "../support/databases.js";
import { LINK_TTL_MS, type MfaApp, startMfaApp, tokenOf } from "../support/mfa-app.js";

const STEP = 30_000;

describeEachDatabase("MFA step-up security", (driver) => {
  let app: MfaApp;
  beforeEach(async () => {
    app = await startMfaApp(driver);
  });
  afterEach(() => app.stop());

  const url = (path: string) => `http://127.0.0.1:${app.port}${path}`;
  const get = (link: string) => fetch(url(new URL(link).pathname));

  async function page(link: string): Promise<{ status: number; html: string; csrf: string | null }> {
    const res = await get(link);
    const html = await res.text();
    return { status: res.status, html, csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? null };
  }

  async function post(
    link: string,
    step: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; html: string }> {
    const res = await fetch(url(`${new URL(link).pathname}/${step}`), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields),
    });
    return { status: res.status, html: await res.text() };
  }

  /** Sets up an authenticator app through an administrator's invitation, then moves past its time step. */
  async function enrollTotp(user: string): Promise<string> {
    const invited = await app.mfa.invite(user, "carol");
    if (!invited.ok) throw new Error(invited.error.message);
    const link = invited.value.link;
    const shown = await page(link);
    const secret = /id="totp-secret"[^>]*>([A-Z2-7]+)</.exec(shown.html)![1]!;
    const done = await post(link, "totp/enroll", { csrf: shown.csrf!, code: await app.code(secret) });
    expect(done.html).toContain("You&#39;re set up");
    app.e.clock.advance(STEP);
    return secret;
  }

  async function pendingLink(user: string, roles = ["reader"]) {
    const request = await app.request(user, roles);
    const link = (await app.mfa.linkFor(request.requestId, request.activationId, await app.e.user(user)))!;
    return { ...request, link };
  }

  const statusOf = async (activationId: string) => (await getActivation(app.e.deps.db, activationId))!.status;

  it("a link works once", async () => {
    const secret = await enrollTotp("alice");
    const { link, activationId } = await pendingLink("alice");
    const { csrf } = await page(link);
    const first = await post(link, "totp", { csrf: csrf!, code: await app.code(secret) });
    expect(first.status).toBe(200);
    expect(await statusOf(activationId)).toBe("activating");

    app.e.clock.advance(STEP);
    const again = await post(link, "totp", { csrf: csrf!, code: await app.code(secret) });
    expect(again.status).toBe(410);
    expect(again.html).toContain("This link has already been used");
    expect((await get(link)).status).toBe(410);
  });

  it("a link is bound to its person: someone else's factor does not satisfy it", async () => {
    await enrollTotp("alice");
    const bobSecret = await enrollTotp("bob");
    const { link, requestId, activationId } = await pendingLink("alice");
    const { csrf } = await page(link);

    const bobsCode = await post(link, "totp", { csrf: csrf!, code: await app.code(bobSecret) });
    expect(bobsCode.status).toBe(422);
    expect(bobsCode.html).toContain("That code is not right.");
    expect(await statusOf(activationId)).toBe("pending_mfa");
    // And nobody but the requester can be handed a link for it.
    expect(await app.mfa.linkFor(requestId, activationId, await app.e.user("bob"))).toBeNull();
  });

  it("a link stops working when it expires, and an older link when a newer one is issued", async () => {
    const secret = await enrollTotp("alice");
    const { link, requestId, activationId } = await pendingLink("alice");
    const { csrf } = await page(link);

    app.e.clock.advance(LINK_TTL_MS);
    const expired = await page(link);
    expect(expired.status).toBe(410);
    expect(expired.html).toContain("This link has expired");
    const late = await post(link, "totp", { csrf: csrf!, code: await app.code(secret) });
    expect(late.status).toBe(410);
    expect(await statusOf(activationId)).toBe("pending_mfa");

    const alice = await app.e.user("alice");
    const newer = (await app.mfa.linkFor(requestId, activationId, alice))!;
    const newest = (await app.mfa.linkFor(requestId, activationId, alice))!;
    expect((await page(newer)).status).toBe(410);
    expect((await page(newest)).status).toBe(200);
  });

  it("a link is bound to one request: it neither moves nor unlocks another", async () => {
    const secret = await enrollTotp("alice");
    const one = await pendingLink("alice", ["reader"]);
    const two = await pendingLink("alice", ["billing"]);
    const csrfOne = (await page(one.link)).csrf!;
    const csrfTwo = (await page(two.link)).csrf!;
    expect(csrfOne).not.toBe(csrfTwo);

    // The first link's form token is worthless on the second link.
    const crossed = await post(two.link, "totp", { csrf: csrfOne, code: await app.code(secret) });
    expect(crossed.status).toBe(403);

    const done = await post(one.link, "totp", { csrf: csrfOne, code: await app.code(secret) });
    expect(done.status).toBe(200);
    expect(await statusOf(one.activationId)).toBe("activating");
    expect(await statusOf(two.activationId)).toBe("pending_mfa");
    // A link is never issued for an activation outside the request it names.
    expect(await app.mfa.linkFor(one.requestId, two.activationId, await app.e.user("alice"))).toBeNull();
  });

  it("an authenticator code works once: replaying it on another link is refused", async () => {
    const secret = await enrollTotp("alice");
    const one = await pendingLink("alice", ["reader"]);
    const two = await pendingLink("alice", ["billing"]);
    const code = await app.code(secret);
    expect((await post(one.link, "totp", { csrf: (await page(one.link)).csrf!, code })).status).toBe(200);

    const replay = await post(two.link, "totp", { csrf: (await page(two.link)).csrf!, code });
    expect(replay.status).toBe(422);
    expect(replay.html).toContain("That code was already used");
    expect(await statusOf(two.activationId)).toBe("pending_mfa");

    app.e.clock.advance(STEP);
    const fresh = await post(two.link, "totp", { csrf: (await page(two.link)).csrf!, code: await app.code(secret) });
    expect(fresh.status).toBe(200);
    expect(await statusOf(two.activationId)).toBe("activating");
  });

  it("two posts of one code at the same instant: one confirms, the other finds the link used", async () => {
    const secret = await enrollTotp("alice");
    const { link, requestId, activationId } = await pendingLink("alice");
    const { csrf } = await page(link);
    const code = await app.code(secret);
    const both = await Promise.all([
      post(link, "totp", { csrf: csrf!, code }),
      post(link, "totp", { csrf: csrf!, code }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 410]);
    expect(await statusOf(activationId)).toBe("activating");
    const passed = (await queryAudit(app.e.deps.db, { requestId })).filter((r) => r.event === "mfa.passed");
    expect(passed).toHaveLength(1);
  });

  it("a chat client fetching the link for a preview sees nothing of the request", async () => {
    await enrollTotp("alice");
    const { link } = await pendingLink("alice");
    const res = await fetch(url(new URL(link).pathname), {
      headers: { "user-agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)" },
    });
    const html = await res.text();
    expect(html).toContain("Open this link in your browser.");
    expect(html).not.toContain("Reader");
    expect(html).not.toContain("csrf");
  });

  it("a post without the page's CSRF token, or from another origin, is refused, audited, and counts nothing", async () => {
    const secret = await enrollTotp("alice");
    const { link, activationId } = await pendingLink("alice");
    const { csrf } = await page(link);
    const code = await app.code(secret);

    const bare = await post(link, "totp", { code });
    expect(bare.status).toBe(403);
    expect(bare.html).toContain("This form is no longer valid");
    expect((await post(link, "totp", { csrf: `${csrf}x`, code })).status).toBe(403);
    expect((await post(link, "totp", { csrf: csrf!, code }, { origin: "https://evil.example" })).status).toBe(403);
    expect((await post(link, "totp", { csrf: csrf!, code }, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    const json = await fetch(url(`${new URL(link).pathname}/totp`), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ csrf, code }),
    });
    expect(json.status).toBe(415);
    expect(await statusOf(activationId)).toBe("pending_mfa");
    expect(await app.e.deps.db.select().from(mfaFailures)).toEqual([]);

    // Each refusal is in the audit log with its reason, under the link's person.
    const refused = (await queryAudit(app.e.deps.db, { event: ["mfa.refused"] })).map((r) => [r.actor, r.data.code]);
    expect(refused).toEqual([
      ["alice", "CSRF"],
      ["alice", "CSRF"],
      ["alice", "ORIGIN"],
      ["alice", "ORIGIN"],
    ]);
    const origin = (await queryAudit(app.e.deps.db, { event: ["mfa.refused"] }))[2]!;
    expect(origin.data).toMatchObject({ origin: "https://evil.example", purpose: "activation" });
    expect(origin.activationId).toBe(activationId);

    // The same code with the token (and Origin: null, which our own pages send) goes through.
    expect(
      (await post(link, "totp", { csrf: csrf!, code }, { origin: "null", "sec-fetch-site": "same-origin" })).status,
    ).toBe(200);
  });

  it("every page, refusal and asset carries the security headers", async () => {
    const { link } = await pendingLink("alice");
    const responses = [
      await get(link),
      await fetch(url("/mfa/not-a-token")),
      await fetch(url(`/mfa/${"A".repeat(43)}`)),
      await fetch(url(`${new URL(link).pathname}/totp`), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "code=123456",
      }),
      await fetch(url("/mfa/assets/mfa.css")),
      await fetch(url("/mfa/assets/webauthn.js")),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 404, 404, 403, 200, 200]);
    for (const res of responses) {
      expect(res.headers.get("content-security-policy")).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
    }
    for (const res of responses.slice(0, 4)) expect(res.headers.get("cache-control")).toBe("no-store");
    const unknown = await responses[1]!.text();
    expect(unknown).toContain("This link is not valid");
    expect(unknown).not.toMatch(/at .*\.ts:\d+/);
  });

  it("what people typed is escaped, and the database holds neither tokens nor secrets in the clear", async () => {
    const secret = await enrollTotp("alice");
    const request = await app.request("alice", ["reader"], `<img src=x onerror=alert(1)> "quoted" & more`);
    const link = (await app.mfa.linkFor(request.requestId, request.activationId, await app.e.user("alice")))!;
    const { html } = await page(link);
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot; &amp; more");
    expect(html).not.toContain("<img src=x");

    const tokens = await app.e.deps.db.select().from(mfaTokens);
    expect(tokens.map((t) => t.tokenHash)).toContain(hash(tokenOf(link)));
    expect(JSON.stringify(tokens)).not.toContain(tokenOf(link));
    const secrets = await app.e.deps.db.select().from(mfaTotpSecrets);
    expect(secrets).toHaveLength(1);
    expect(secrets[0]!.secret).not.toContain(secret);
    expect(secrets[0]!.secret.startsWith("v1.")).toBe(true);
  });

  it("approving a step-up role needs the step-up; denying does not", async () => {
    const request = await app.request("alice", ["db-admin"]);
    const bob = await app.e.user("bob");
    const approve = await decide(app.e.deps, { requestId: request.requestId, approverId: bob, decision: "approve" });
    expect(!approve.ok && approve.error.code).toBe("STEP_UP_REQUIRED");
    // A step-up with a method the role does not accept does not count either.
    const oidc = await decide(app.e.deps, {
      requestId: request.requestId,
      approverId: bob,
      decision: "approve",
      stepUp: { method: "oidc" },
    });
    expect(!oidc.ok && oidc.error.code).toBe("NOT_ALLOWED");
    const deny = await decide(app.e.deps, { requestId: request.requestId, approverId: bob, decision: "deny" });
    expect(deny.ok).toBe(true);
    expect(await statusOf(request.activationId)).toBe("denied");
  });
});

describeEachDatabase("MFA without PIM_ENCRYPTION_KEY", (driver) => {
  let app: MfaApp;
  beforeEach(async () => {
    app = await startMfaApp(driver, { encryptionKey: null });
  });
  afterEach(() => app.stop());

  it("offers no authenticator app and says why, and passkeys still work", async () => {
    const link = await app.mfa.startEnrollment(await app.e.user("alice"));
    const html = await (await fetch(`http://127.0.0.1:${app.port}${new URL(link).pathname}`)).text();
    expect(html).toContain("Authenticator app codes are turned off on this server (PIM_ENCRYPTION_KEY is not set).");
    expect(html).not.toContain("totp-secret");
    expect(html).toContain("Create a passkey");
    expect(await app.e.deps.db.select().from(mfaTotpSecrets)).toHaveLength(0);
  });
});

function hash(raw: string): string {
  return createHash("sha256").update(raw).digest("hex");
}
