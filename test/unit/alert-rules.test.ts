import { describe, expect, it } from "vitest";
import {
  assignedOutsidePim,
  breakGlassUsed,
  DEFAULT_THRESHOLDS,
  frequentActivations,
  grantsFailed,
  type HoldingFact,
  INCIDENT_WINDOW_MS,
  incidentFields,
  mfaFailures,
  newOccurrences,
  RULE_SEVERITY,
  revokesFailing,
  rolesWithoutMfa,
  staleEligibility,
  tooManyGlobalAdmins,
  type UserFact,
  unauthorizedApprovals,
} from "../../src/domain/alert-rules.js";
import { DAY, HOUR, MINUTE } from "../../src/domain/duration.js";

const now = new Date("2026-11-02T09:00:00Z");
const daysAgo = (n: number) => new Date(now.getTime() - n * DAY);
const users = (n: number, breakGlass: string[] = []): UserFact[] =>
  Array.from({ length: n }, (_, i) => ({ key: `u${i}`, name: `User ${i}`, breakGlass: breakGlass.includes(`u${i}`) }));
const roles = [
  { key: "global-admin", name: "Global Administrator", critical: true, requireMfa: true },
  { key: "reader", name: "Reader", critical: false, requireMfa: false },
];

describe("too many global administrators", () => {
  const holdings = (admins: number, others: number): HoldingFact[] => [
    ...Array.from({ length: admins }, (_, i) => ({
      user: `u${i}`,
      role: "global-admin",
      kind: "eligible" as const,
      since: daysAgo(1),
    })),
    ...Array.from({ length: others }, (_, i) => ({
      user: `u${admins + i}`,
      role: "reader",
      kind: "eligible" as const,
      since: daysAgo(1),
    })),
  ];
  const thresholds = { ...DEFAULT_THRESHOLDS, tooManyGlobalAdmins: { count: 2, percent: 30 } };

  it("alerts only when both the count and the share are exceeded", () => {
    // 3 of 5 privileged users: more than 2 and 60% > 30%.
    const alerted = tooManyGlobalAdmins({ thresholds, users: users(5), roles, holdings: holdings(3, 2) });
    expect(alerted.map((c) => c.id)).toEqual(["too_many_global_admins"]);
    expect(alerted[0]!.severity).toBe("low");
    expect(alerted[0]!.text).toContain("3 people hold a critical role, 60% of the 5");
    // 3 of 20: the count is exceeded, the share (15%) is not.
    expect(tooManyGlobalAdmins({ thresholds, users: users(20), roles, holdings: holdings(3, 17) })).toEqual([]);
    // 2 of 2: the share is, the count is not.
    expect(tooManyGlobalAdmins({ thresholds, users: users(2), roles, holdings: holdings(2, 0) })).toEqual([]);
  });

  it("does not count break-glass accounts", () => {
    const alerted = tooManyGlobalAdmins({ thresholds, users: users(5, ["u0"]), roles, holdings: holdings(3, 2) });
    expect(alerted).toEqual([]);
  });

  it("counts a user once however many critical holdings they have", () => {
    const twice = [...holdings(3, 2), { user: "u0", role: "global-admin", kind: "active" as const, since: daysAgo(1) }];
    expect(tooManyGlobalAdmins({ thresholds, users: users(5), roles, holdings: twice })[0]!.fields[0]!.value).toBe("3");
  });
});

describe("roles without MFA", () => {
  it("names each role whose activation does not require MFA, by a stable id", () => {
    expect(rolesWithoutMfa({ roles }).map((c) => [c.id, c.severity])).toEqual([["role_without_mfa:reader", "low"]]);
  });
});

describe("stale eligibility", () => {
  const t = { ...DEFAULT_THRESHOLDS, staleEligibleDays: 30 };
  const base = { now, thresholds: t, users: users(3, ["u2"]), roles };

  it("alerts an eligibility older than N days not activated in N days", () => {
    const conditions = staleEligibility({
      ...base,
      holdings: [
        { user: "u0", role: "reader", kind: "eligible", since: daysAgo(40) },
        { user: "u1", role: "reader", kind: "eligible", since: daysAgo(40) },
      ],
      lastActivations: [{ user: "u1", role: "reader", at: daysAgo(3) }],
    });
    expect(conditions.map((c) => c.id)).toEqual(["stale_eligible:u0:reader"]);
    expect(conditions[0]!.fields.find((f) => f.label === "Last activation")!.value).toBe("never");
  });

  it("leaves young eligibilities, active assignments and break-glass accounts alone", () => {
    expect(
      staleEligibility({
        ...base,
        holdings: [
          { user: "u0", role: "reader", kind: "eligible", since: daysAgo(10) },
          { user: "u1", role: "reader", kind: "active", since: daysAgo(100) },
          { user: "u2", role: "global-admin", kind: "eligible", since: daysAgo(100) },
        ],
        lastActivations: [],
      }),
    ).toEqual([]);
  });

  it("counts an activation older than the window as stale", () => {
    const conditions = staleEligibility({
      ...base,
      holdings: [{ user: "u0", role: "reader", kind: "eligible", since: daysAgo(100) }],
      lastActivations: [{ user: "u0", role: "reader", at: daysAgo(31) }],
    });
    expect(conditions).toHaveLength(1);
  });
});

describe("frequent activations", () => {
  it("alerts more than N activations in the window", () => {
    const t = { ...DEFAULT_THRESHOLDS, frequentActivations: { count: 3, windowMs: DAY } };
    const conditions = frequentActivations({
      thresholds: t,
      users: users(2),
      roles,
      recentActivations: [
        { user: "u0", role: "reader", count: 4 },
        { user: "u1", role: "reader", count: 3 },
      ],
    });
    expect(conditions.map((c) => c.id)).toEqual(["frequent_activations:u0:reader"]);
    expect(conditions[0]!.text).toContain("4 times in 1d");
  });
});

describe("incidents", () => {
  it("keeps a break-glass use alerted for the incident window, and while the role is held", () => {
    const use = { id: "act_1", user: "glass", role: "global-admin", scope: "/", at: now, holding: false };
    expect(breakGlassUsed({ now, uses: [use] }).map((c) => [c.id, c.severity])).toEqual([
      ["break_glass_used:glass", "high"],
    ]);
    const later = new Date(now.getTime() + INCIDENT_WINDOW_MS);
    expect(breakGlassUsed({ now: later, uses: [use] })).toEqual([]);
    expect(breakGlassUsed({ now: later, uses: [{ ...use, holding: true }] })).toHaveLength(1);
  });

  it("groups refused approvals by who tried", () => {
    const refused = [
      { id: "audit:1", approver: "mallory", requester: "alice", requestId: "req_1", code: "NOT_AN_APPROVER", at: now },
      { id: "audit:2", approver: "mallory", requester: "bob", requestId: "req_2", code: "NOT_AN_APPROVER", at: now },
      {
        id: "audit:3",
        approver: "alice",
        requester: "alice",
        requestId: "req_3",
        code: "SELF_APPROVAL",
        at: daysAgo(2),
      },
    ];
    const conditions = unauthorizedApprovals({ now, refused });
    expect(conditions.map((c) => c.id)).toEqual(["unauthorized_approval:mallory"]);
    expect(conditions[0]!.text).toContain("2 requests");
  });

  it("alerts MFA failures at the threshold within the window only", () => {
    const t = { ...DEFAULT_THRESHOLDS, mfaFailures: { count: 3, windowMs: HOUR } };
    const at = (m: number) => new Date(now.getTime() - m * MINUTE);
    const failures = [at(1), at(10), at(59), at(61)].map((d, i) => ({ id: `audit:${i}`, user: "bob", at: d }));
    expect(mfaFailures({ now, thresholds: t, failures }).map((c) => [c.id, c.severity])).toEqual([
      ["mfa_failures:bob", "medium"],
    ]);
    expect(mfaFailures({ now, thresholds: t, failures: failures.slice(1) })).toEqual([]);
  });

  it("keys failed grants and failing revokes by holding", () => {
    const failed = [{ id: "audit:9", subject: "bob", role: "db", scope: "/mg/prod", at: now, error: "refused" }];
    expect(grantsFailed({ now, failed }).map((c) => c.id)).toEqual(["grant_failed:bob:db:/mg/prod"]);
    const failing = [
      { subject: "bob", role: "db", scope: "/", attempts: 6, error: "down" },
      { subject: "bob", role: "db", scope: "/", attempts: 9, error: "still down" },
    ];
    const revokes = revokesFailing({ failing });
    expect(revokes.map((c) => c.id)).toEqual(["revoke_failing:bob:db:/"]);
    expect(revokes[0]!.text).toContain("failed 9 times");
  });

  it("alerts each holding found outside PIM once", () => {
    const h = { connector: "log", login: "eve", role: "db-admin", scope: "/mg/prod" };
    const conditions = assignedOutsidePim({ unexpected: [h, h] });
    expect(conditions.map((c) => [c.id, c.severity])).toEqual([["assigned_outside_pim:eve:db-admin:/mg/prod", "high"]]);
  });
});

it("gives every rule the severity of the reference table", () => {
  expect(RULE_SEVERITY).toEqual({
    too_many_global_admins: "low",
    role_without_mfa: "low",
    stale_eligible: "low",
    frequent_activations: "low",
    assigned_outside_pim: "high",
    break_glass_used: "high",
    unauthorized_approval: "high",
    mfa_failures: "medium",
    mfa_locked: "medium",
    mfa_factor_changed: "medium",
    grant_failed: "high",
    revoke_failing: "high",
    target_failing: "high",
  });
});

describe("occurrences of an incident", () => {
  it("are told apart from those an alert already counted, by what they were", () => {
    const use = (id: string, minutesAgo: number) => ({
      id,
      user: "glass",
      role: "global-admin",
      scope: "/",
      at: new Date(now.getTime() - minutesAgo * MINUTE),
      holding: false,
    });
    // Two uses at the same instant are two occurrences.
    const [condition] = breakGlassUsed({ now, uses: [use("act_1", 30), use("act_2", 5), use("act_3", 5)] });
    expect(condition!.occurrences!.map((o) => o.key)).toEqual(["act_1", "act_2", "act_3"]);
    expect(newOccurrences(condition!, ["act_1"])!.map((o) => o.key)).toEqual(["act_2", "act_3"]);
    expect(newOccurrences(condition!, ["act_1", "act_2", "act_3"])).toBeNull();
    // An alert from before occurrences were counted has none to compare with.
    expect(newOccurrences(condition!, null)).toBeNull();
    const [stale] = rolesWithoutMfa({ roles: [{ key: "r", name: "R", critical: false, requireMfa: false }] });
    expect(newOccurrences(stale!, [])).toBeNull();
  });

  it("show how many and when last on the card, replacing what an earlier count said", () => {
    const fields = incidentFields([{ label: "Account", value: "glass" }], 2, now);
    expect(incidentFields(fields, 3, now)).toEqual([
      { label: "Account", value: "glass" },
      { label: "Occurrences", value: "3" },
      { label: "Last occurrence", value: now.toISOString() },
    ]);
  });
});
