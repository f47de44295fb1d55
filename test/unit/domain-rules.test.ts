import { describe, expect, it } from "vitest";
import { checkApprover, checkFeasible, effectiveApprovers } from "../../src/domain/approval.js";
import { formatDuration, HOUR, MINUTE, parseDuration } from "../../src/domain/duration.js";
import { evaluateEligibility, type HeldAssignment } from "../../src/domain/eligibility.js";
import { BUILT_IN_POLICY, type Policy, resolvePolicy } from "../../src/domain/policy.js";
import { planRoleRequest, type RoleFacts } from "../../src/domain/request-rules.js";
import { isValidScope, narrowerScope, scopeCovers } from "../../src/domain/scope.js";

const now = new Date("2026-11-02T09:00:00Z");
const at = (iso: string) => new Date(iso);

function role(overrides: Partial<Policy["activation"]> = {}, scopes = ["/"]): RoleFacts {
  return {
    id: "rol_db",
    name: "Database Administrator",
    scopes,
    policy: resolvePolicy(BUILT_IN_POLICY, { activation: overrides }),
  };
}

function eligible(
  scope = "/",
  startsAt: Date | null = null,
  endsAt: Date | null = null,
  kind: "eligible" | "active" = "eligible",
): HeldAssignment {
  return { id: "asg_1", roleId: "rol_db", scope, kind, startsAt, endsAt, viaGroupId: null };
}

const request = (
  r: RoleFacts,
  extra: Partial<{ scope: string; durationMs: number; justification: string | null; ticket: string | null }> = {},
) => ({
  role: r,
  scope: "/",
  durationMs: HOUR,
  justification: "fix prod",
  ticket: null,
  ...extra,
});

describe("durations", () => {
  it("parses and formats the forms people write", () => {
    expect(parseDuration("8h")).toEqual({ ok: true, value: 8 * HOUR });
    expect(parseDuration("1h30m")).toEqual({ ok: true, value: 90 * MINUTE });
    expect(parseDuration("90d").ok).toBe(true);
    expect(parseDuration("8 hours").ok).toBe(false);
    expect(parseDuration("0m").ok).toBe(false);
    expect(formatDuration(90 * MINUTE)).toBe("1h30m");
  });
});

describe("scopes", () => {
  it("an assignment covers its scope and everything below it, nothing beside it", () => {
    expect(scopeCovers("/", "/mg/prod/db")).toBe(true);
    expect(scopeCovers("/mg/prod", "/mg/prod/db")).toBe(true);
    expect(scopeCovers("/mg/prod", "/mg/production")).toBe(false);
    expect(scopeCovers("/mg/prod/db", "/mg/prod")).toBe(false);
    expect(narrowerScope("/mg", "/mg/prod")).toBe("/mg/prod");
    expect(isValidScope("/mg//prod")).toBe(false);
    expect(isValidScope("/mg/prod/")).toBe(false);
  });
});

describe("eligibility", () => {
  it("honours time-bound eligibility at request time", () => {
    expect(evaluateEligibility([eligible("/", at("2026-11-03T00:00:00Z"))], "rol_db", "/", now).kind).toBe(
      "not_started",
    );
    expect(evaluateEligibility([eligible("/", null, at("2026-11-01T00:00:00Z"))], "rol_db", "/", now).kind).toBe(
      "expired",
    );
    expect(evaluateEligibility([eligible("/", null, at("2026-11-02T09:00:00Z"))], "rol_db", "/", now).kind).toBe(
      "expired",
    );
    expect(evaluateEligibility([eligible("/mg/prod")], "rol_db", "/mg/prod/db", now).kind).toBe("eligible");
    expect(evaluateEligibility([eligible("/mg/prod")], "rol_db", "/mg/dev", now).kind).toBe("none");
  });
  it("an active assignment in force means there is nothing to activate", () => {
    expect(evaluateEligibility([eligible(), eligible("/", null, null, "active")], "rol_db", "/", now).kind).toBe(
      "already_active",
    );
  });
});

describe("request rules", () => {
  const who = (held: HeldAssignment[] = [eligible()], breakGlass = false) => ({ breakGlass, held, open: [] });

  it("plans MFA and approval from the role's own policy", () => {
    const plan = planRoleRequest(
      request(role({ requireMfa: true, requireApproval: true, approvalsNeeded: 2 })),
      who(),
      now,
    );
    expect(plan).toMatchObject({
      ok: true,
      value: { mfaRequired: true, approvalRequired: true, approvalsNeeded: 2, basis: "eligible" },
    });
  });

  it.each([
    [
      "DURATION_OVER_MAX",
      request(role({ maxDurationMs: HOUR }), { durationMs: 2 * HOUR }),
      /at most 1h; you asked for 2h/,
    ],
    ["DURATION_INVALID", request(role(), { durationMs: MINUTE }), /at least 5m/],
    ["JUSTIFICATION_REQUIRED", request(role(), { justification: "   " }), /requires a justification/],
    ["TICKET_REQUIRED", request(role({ requireTicket: true })), /requires a ticket/],
    [
      "TICKET_INVALID",
      request(role({ requireTicket: true, ticketPattern: "^INC-\\d{6}$", ticketExample: "INC-123456" }), {
        ticket: "INC-12",
      }),
      /Ticket must look like INC-123456/,
    ],
    [
      "TICKET_INVALID",
      // The pattern is matched against the whole ticket even when its author did not anchor it.
      request(role({ requireTicket: true, ticketPattern: "INC-\\d{6}", ticketExample: "INC-123456" }), {
        ticket: "none, see INC-123456 later",
      }),
      /Ticket must look like INC-123456/,
    ],
    ["SCOPE_NOT_ALLOWED", request(role({}, ["/mg/prod"]), { scope: "/mg/dev" }), /cannot be activated at \/mg\/dev/],
  ])("refuses %s with a clear message", (code, req, message) => {
    const plan = planRoleRequest(req, who(), now);
    expect(plan.ok).toBe(false);
    if (!plan.ok) {
      expect(plan.error.code).toBe(code);
      expect(plan.error.message).toMatch(message);
    }
  });

  it("refuses a duration that runs past the end of the eligibility", () => {
    const plan = planRoleRequest(
      request(role(), { durationMs: 4 * HOUR }),
      who([eligible("/", null, at("2026-11-02T11:00:00Z"))]),
      now,
    );
    expect(!plan.ok && plan.error.code).toBe("DURATION_PAST_ELIGIBILITY");
    expect(!plan.ok && plan.error.message).toMatch(/at most 2h/);
  });

  it("refuses without eligibility, before it starts and after it ends", () => {
    expect(planRoleRequest(request(role()), who([]), now)).toMatchObject({
      ok: false,
      error: { code: "NOT_ELIGIBLE" },
    });
    expect(planRoleRequest(request(role()), who([eligible("/", at("2026-12-01T00:00:00Z"))]), now)).toMatchObject({
      ok: false,
      error: { code: "ELIGIBILITY_NOT_STARTED" },
    });
    expect(planRoleRequest(request(role()), who([eligible("/", null, at("2026-11-01T00:00:00Z"))]), now)).toMatchObject(
      { ok: false, error: { code: "ELIGIBILITY_EXPIRED" } },
    );
  });

  it("refuses a second request for what is already open", () => {
    const open = [{ roleId: "rol_db", scope: "/", status: "active" }];
    expect(planRoleRequest(request(role()), { breakGlass: false, held: [eligible()], open }, now)).toMatchObject({
      ok: false,
      error: { code: "ALREADY_ACTIVE" },
    });
    open[0]!.status = "pending_approval";
    expect(planRoleRequest(request(role()), { breakGlass: false, held: [eligible()], open }, now)).toMatchObject({
      ok: false,
      error: { code: "ALREADY_PENDING" },
    });
  });

  it("break-glass skips eligibility, MFA and approval but not the other rules", () => {
    const r = role({ requireMfa: true, requireApproval: true });
    expect(planRoleRequest(request(r), who([], true), now)).toMatchObject({
      ok: true,
      value: { basis: "break_glass", mfaRequired: false, approvalRequired: false },
    });
    expect(planRoleRequest(request(r, { justification: null }), who([], true), now)).toMatchObject({
      ok: false,
      error: { code: "JUSTIFICATION_REQUIRED" },
    });
  });
});

describe("approvers", () => {
  it("never includes the requester, and falls back to admins when nobody else is named", () => {
    expect([...effectiveApprovers(new Set(["a", "b"]), new Set(["z"]), "a")]).toEqual(["b"]);
    expect([...effectiveApprovers(new Set(["a"]), new Set(["a", "z"]), "a")]).toEqual(["z"]);
  });
  it("refuses N-of-M that cannot be met", () => {
    expect(checkFeasible(2, new Set(["b"]), "X")).toMatchObject({ ok: false, error: { code: "NOT_ENOUGH_APPROVERS" } });
    expect(checkFeasible(1, new Set(), "X")).toMatchObject({ ok: false, error: { code: "NO_APPROVERS" } });
  });
  it("refuses self-approval, outsiders and second votes", () => {
    const set = new Set(["b", "c"]);
    expect(checkApprover("a", "a", set, [])).toMatchObject({ ok: false, error: { code: "SELF_APPROVAL" } });
    expect(checkApprover("x", "a", set, [])).toMatchObject({ ok: false, error: { code: "NOT_AN_APPROVER" } });
    expect(checkApprover("b", "a", set, [{ approverId: "b", decision: "approve", decidedAt: now }])).toMatchObject({
      ok: false,
      error: { code: "ALREADY_VOTED" },
    });
    expect(checkApprover("c", "a", set, [])).toEqual({ ok: true, value: undefined });
  });
});
