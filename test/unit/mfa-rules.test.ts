import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DAY, HOUR, MINUTE } from "../../src/domain/duration.js";
import { mfaFactorChanges, mfaLockouts } from "../../src/domain/mfa-alert-rules.js";
import { type MethodPlanInput, planMethods } from "../../src/mfa/method-plan.js";
import { judgeClaims, type StepUpClaims } from "../../src/mfa/oidc.js";
import { SecretBox } from "../../src/mfa/secret-box.js";
import { escapeHtml, html } from "../../src/mfa/views/html.js";

describe("which ways of confirming a page offers", () => {
  const base: MethodPlanInput = {
    purpose: "activation",
    allowed: ["totp", "passkey", "oidc"],
    serverHas: { totp: true, oidc: true },
    enrolled: { totp: false, passkey: false },
    proven: false,
  };

  it("a step-up link never offers enrollment: someone with no factor can only use the IdP", () => {
    expect(planMethods(base).offers).toEqual([{ method: "oidc", action: "verify" }]);
    for (const purpose of ["activation", "approval"] as const) {
      const plan = planMethods({ ...base, purpose, serverHas: { totp: true, oidc: false } });
      expect(plan.offers).toEqual([]);
      expect(plan.notes.join(" ")).toContain("Type /elevate mfa setup in chat");
    }
  });

  it("an enrollment link with no factor asks for the IdP sign-in first, or counts only after the delay", () => {
    const enroll = { ...base, purpose: "enroll" as const, delayText: "24h" };
    expect(planMethods(enroll)).toMatchObject({ offers: [{ method: "oidc", action: "verify" }], delayed: false });
    const noIdp = planMethods({ ...enroll, serverHas: { totp: true, oidc: false } });
    expect(noIdp.delayed).toBe(true);
    expect(noIdp.offers.map((o) => o.action)).toEqual(["enroll", "enroll"]);
    expect(noIdp.notes.join(" ")).toContain("counts after 24h");
    // An administrator's invitation, or a proven sign-in, sets up a factor that counts at once.
    expect(planMethods({ ...enroll, purpose: "invite" }).delayed).toBe(false);
    expect(planMethods({ ...enroll, proven: true })).toMatchObject({ delayed: false });
  });

  it("someone with a factor must use it: no new authenticator can be added from a step-up link", () => {
    const plan = planMethods({ ...base, enrolled: { totp: true, passkey: false } });
    expect(plan.offers).toEqual([
      { method: "totp", action: "verify" },
      { method: "oidc", action: "verify" },
    ]);
  });

  it("a factor whose key is gone still counts as a factor", () => {
    const plan = planMethods({
      ...base,
      allowed: ["totp", "passkey"],
      serverHas: { totp: false, oidc: false },
      enrolled: { totp: true, passkey: false },
    });
    expect(plan.offers).toEqual([]);
    expect(plan.notes.join(" ")).toContain("PIM_ENCRYPTION_KEY");
  });

  it("a passkey-only role offers only the passkey, and says how to get one", () => {
    expect(planMethods({ ...base, allowed: ["passkey"], enrolled: { totp: true, passkey: false } })).toEqual({
      offers: [],
      notes: [
        "This needs a passkey, which you have not set up. Type /elevate mfa setup in chat, then ask for a new link.",
      ],
      delayed: false,
    });
  });

  it("an enrollment link asks an existing factor first, then offers set-up", () => {
    const enroll = { ...base, purpose: "enroll" as const, enrolled: { totp: false, passkey: true } };
    expect(planMethods(enroll).offers).toEqual([
      { method: "passkey", action: "verify" },
      { method: "oidc", action: "verify" },
    ]);
    expect(planMethods({ ...enroll, proven: true }).offers).toEqual([
      { method: "totp", action: "enroll" },
      { method: "passkey", action: "enroll" },
    ]);
  });
});

describe("what an IdP sign-in must show to count as a step-up", () => {
  const startedAt = new Date("2026-11-02T09:00:00Z");
  const fresh = Math.floor(startedAt.getTime() / 1000) + 5;
  const claims: StepUpClaims = {
    iss: "https://idp.example",
    sub: "00u1",
    oid: null,
    email: "Alice@Example.com",
    emailVerified: true,
    amr: ["pwd", "mfa"],
    acr: null,
    authTime: fresh,
  };
  const expected = { email: "alice@example.com", binding: null, acrValues: [], startedAt };

  it("accepts a fresh MFA sign-in for the same email, in any case", () => {
    expect(judgeClaims(claims, expected).ok).toBe(true);
  });

  it("accepts an acr the organisation named instead of amr", () => {
    const withAcr = { ...claims, amr: ["pwd"], acr: "phr" };
    expect(judgeClaims(withAcr, expected).ok).toBe(false);
    expect(judgeClaims(withAcr, { ...expected, acrValues: ["phr", "phrh"] }).ok).toBe(true);
  });

  it("refuses a sign-in without MFA, an old sign-in, someone else, and an unverified email", () => {
    const refusal = (c: Partial<StepUpClaims>) => {
      const r = judgeClaims({ ...claims, ...c }, expected);
      return r.ok ? null : r.error;
    };
    expect(refusal({ amr: ["pwd"] })).toContain("did not use multi-factor authentication");
    expect(refusal({ authTime: fresh - 3600 })).toContain("reused an earlier sign-in");
    expect(refusal({ authTime: null })).toContain("did not say when");
    expect(refusal({ email: "bob@example.com" })).toContain("someone else");
    expect(refusal({ emailVerified: false })).toContain("not said that your email address is verified");
  });

  it("binds the first sign-in only with a verified email: a missing email_verified is no yes", () => {
    expect(judgeClaims(claims, expected)).toEqual({ ok: true, value: { bind: true } });
    const missing = judgeClaims({ ...claims, emailVerified: null }, expected);
    expect(!missing.ok && missing.error).toContain("not said that your email address is verified");
  });

  it("after binding, the subject decides, not the email: Entra's oid first, else sub", () => {
    const bound = { ...expected, binding: { issuer: "https://idp.example", subject: "00u1" } };
    expect(judgeClaims({ ...claims, email: "someone@else.example", emailVerified: null }, bound)).toEqual({
      ok: true,
      value: { bind: false },
    });
    const other = judgeClaims({ ...claims, sub: "00u2" }, bound);
    expect(!other.ok && other.error).toContain("someone else");
    const otherIssuer = judgeClaims({ ...claims, iss: "https://other.example" }, bound);
    expect(otherIssuer.ok).toBe(false);
    const entra = { ...expected, binding: { issuer: "https://idp.example", subject: "oid-1" } };
    expect(judgeClaims({ ...claims, sub: "pairwise", oid: "oid-1" }, entra).ok).toBe(true);
  });
});

describe("MFA incidents as alerts", () => {
  const now = new Date("2026-11-02T09:00:00Z");
  const ago = (ms: number) => new Date(now.getTime() - ms);

  it("each lockout is an alert of its own while it is recent", () => {
    const lockout = { user: "bob", failures: 5, until: now };
    const conditions = mfaLockouts({
      now,
      lockouts: [
        { ...lockout, id: "mfa_1", at: ago(2 * HOUR) },
        { ...lockout, id: "mfa_2", at: ago(MINUTE) },
        { ...lockout, id: "mfa_0", at: ago(2 * DAY) },
      ],
    });
    expect(conditions.map((c) => [c.id, c.severity])).toEqual([
      ["mfa_locked:bob:mfa_1", "medium"],
      ["mfa_locked:bob:mfa_2", "medium"],
    ]);
    expect(conditions[0]!.text).toContain("pim mfa reset bob");
  });

  it("each factor change is an alert of its own; a first factor without proof says when it counts", () => {
    const usableAt = new Date(now.getTime() + DAY);
    const [delayed, removed] = mfaFactorChanges({
      now,
      changes: [
        { id: "7", user: "bob", change: "added", method: "totp", via: "delay", usableAt, by: null, at: ago(MINUTE) },
        { id: "8", user: "bob", change: "removed", method: "passkey", via: null, usableAt: null, by: "carol", at: now },
      ],
    });
    expect(delayed).toMatchObject({ id: "mfa_factor_changed:bob:7", title: "First MFA factor set up without proof" });
    expect(delayed!.text).toContain(`counts from ${usableAt.toISOString()}`);
    expect(removed).toMatchObject({ id: "mfa_factor_changed:bob:8", title: "MFA factor changed" });
    expect(removed!.text).toContain("A passkey of bob was removed by carol.");
  });
});

describe("secrets at rest", () => {
  it("open only with the key and the owner they were sealed for", () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "usr_alice");
    expect(sealed).not.toContain("JBSWY3DP");
    expect(box.open(sealed, "usr_alice")).toBe("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
    expect(() => box.open(sealed, "usr_bob")).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, "usr_alice")).toThrow();
  });
});

describe("page markup", () => {
  it("escapes every interpolated value", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    expect(html`<p>${"<b>"}${["<i>", html`<em>ok</em>`]}</p>`.value).toBe("<p>&lt;b&gt;&lt;i&gt;<em>ok</em></p>");
  });
});
