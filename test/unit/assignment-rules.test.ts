import { describe, expect, it } from "vitest";
import {
  administratorBasis,
  checkAssignment,
  checkExtendable,
  checkNewEnd,
  checkNotOwnAssignment,
  checkReason,
  checkRenewable,
  proposedEnd,
  reminderDue,
} from "../../src/domain/assignment-rules.js";
import { DAY, HOUR } from "../../src/domain/duration.js";
import { BUILT_IN_POLICY } from "../../src/domain/policy.js";

const now = new Date("2026-12-01T12:00:00Z");
const at = (ms: number) => new Date(now.getTime() + ms);
const rules = { ...BUILT_IN_POLICY.assignment, maxActiveDurationMs: 30 * DAY, maxEligibleDurationMs: 90 * DAY };
const code = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? "ok" : r.error!.code);

describe("who administers", () => {
  const base = {
    admin: false,
    retired: false,
    adminRole: { key: "pim-admin", name: "PIM Administrator" },
    holdsAdminRoleActive: false,
    eligibleForAdminRole: false,
  };
  it("an admin: true user administers", () => {
    expect(administratorBasis({ ...base, admin: true })).toEqual({ ok: true, value: "admin" });
  });
  it("a holder of the administrator role administers only while it is active", () => {
    expect(administratorBasis({ ...base, holdsAdminRoleActive: true })).toEqual({ ok: true, value: "role" });
    const eligible = administratorBasis({ ...base, eligibleForAdminRole: true });
    expect(code(eligible)).toBe("ADMIN_ROLE_NOT_ACTIVE");
    expect(eligible.ok ? "" : eligible.error.message).toContain("PIM Administrator active");
  });
  it("anyone else is refused, and so is a retired admin", () => {
    expect(code(administratorBasis(base))).toBe("NOT_ADMINISTRATOR");
    expect(code(administratorBasis({ ...base, adminRole: null, holdsAdminRoleActive: true }))).toBe(
      "NOT_ADMINISTRATOR",
    );
    expect(code(administratorBasis({ ...base, admin: true, retired: true }))).toBe("NOT_ADMINISTRATOR");
  });
  it("nobody changes their own assignments, directly or through a group", () => {
    expect(code(checkNotOwnAssignment("usr_a", { principalId: "usr_a", memberIds: new Set() }))).toBe(
      "SELF_ASSIGNMENT",
    );
    expect(code(checkNotOwnAssignment("usr_a", { principalId: "grp_x", memberIds: new Set(["usr_a"]) }))).toBe(
      "SELF_ASSIGNMENT",
    );
    expect(code(checkNotOwnAssignment("usr_a", { principalId: "usr_b", memberIds: new Set() }))).toBe("ok");
  });
});

describe("an assignment against its role's rules", () => {
  const active = { kind: "active" as const, startsAt: null, endsAt: at(7 * DAY), justification: "on call" };
  it("a time-bound active assignment within the maximum passes, held for a step-up when the role says so", () => {
    expect(checkAssignment(rules, "Reader", active, now)).toEqual({ ok: true, value: { needsStepUp: true } });
    expect(checkAssignment({ ...rules, requireMfaOnActive: false }, "Reader", active, now)).toEqual({
      ok: true,
      value: { needsStepUp: false },
    });
  });
  it("eligible assignments never wait for a step-up", () => {
    const r = checkAssignment(rules, "Reader", { ...active, kind: "eligible" }, now);
    expect(r).toEqual({ ok: true, value: { needsStepUp: false } });
  });
  it("permanent is refused with the reason unless the role allows it", () => {
    const r = checkAssignment(rules, "Reader", { ...active, endsAt: null }, now);
    expect(code(r)).toBe("PERMANENT_NOT_ALLOWED");
    expect(r.ok ? "" : r.error.message).toBe(
      "Reader does not allow permanent active assignments; give an end at most 30d after the start.",
    );
    expect(code(checkAssignment(rules, "Reader", { ...active, kind: "eligible", endsAt: null }, now))).toBe("ok");
  });
  it("over the maximum duration is refused, counted from the start", () => {
    const r = checkAssignment(rules, "Reader", { ...active, endsAt: at(31 * DAY) }, now);
    expect(code(r)).toBe("ASSIGNMENT_TOO_LONG");
    expect(r.ok ? "" : r.error.message).toBe(
      "Reader allows active assignments of at most 30d; this one would last 31d.",
    );
    const later = { ...active, startsAt: at(5 * DAY), endsAt: at(34 * DAY) };
    expect(code(checkAssignment(rules, "Reader", later, now))).toBe("ok");
  });
  it("active needs a justification when the role says so", () => {
    expect(code(checkAssignment(rules, "Reader", { ...active, justification: "  " }, now))).toBe(
      "JUSTIFICATION_REQUIRED",
    );
    const relaxed = { ...rules, requireJustificationOnActive: false };
    expect(code(checkAssignment(relaxed, "Reader", { ...active, justification: null }, now))).toBe("ok");
    expect(code(checkAssignment(rules, "Reader", { ...active, justification: "x".repeat(501) }, now))).toBe(
      "JUSTIFICATION_TOO_LONG",
    );
  });
  it("an end before the start or in the past is invalid", () => {
    expect(code(checkAssignment(rules, "R", { ...active, startsAt: at(2 * DAY), endsAt: at(DAY) }, now))).toBe(
      "ASSIGNMENT_INVALID",
    );
    expect(code(checkAssignment(rules, "R", { ...active, startsAt: at(-2 * DAY), endsAt: at(-DAY) }, now))).toBe(
      "ASSIGNMENT_INVALID",
    );
  });
  it("a new end is checked from the assignment's start and never needs a step-up", () => {
    const a = { kind: "active" as const, start: at(-20 * DAY) };
    expect(code(checkNewEnd(rules, "R", a, at(11 * DAY), "more", now))).toBe("ASSIGNMENT_TOO_LONG");
    expect(checkNewEnd(rules, "R", a, at(9 * DAY), "more", now)).toEqual({ ok: true, value: { needsStepUp: false } });
  });
  it("a reason must be given and short", () => {
    expect(code(checkReason(" "))).toBe("REASON_REQUIRED");
    expect(checkReason(" why ")).toEqual({ ok: true, value: "why" });
  });
});

describe("the life of an assignment", () => {
  it("reminders fall 14 days and 1 day before the end", () => {
    expect(reminderDue(null, now)).toBeNull();
    expect(reminderDue(at(15 * DAY), now)).toBeNull();
    expect(reminderDue(at(14 * DAY), now)).toBe(14 * DAY);
    expect(reminderDue(at(2 * DAY), now)).toBe(14 * DAY);
    expect(reminderDue(at(DAY), now)).toBe(DAY);
    expect(reminderDue(at(HOUR), now)).toBe(DAY);
    expect(reminderDue(at(-HOUR), now)).toBeNull();
  });
  it("an extension is asked for within 14 days before the end, a renewal within 30 days after", () => {
    expect(code(checkExtendable({ endsAt: null }, now))).toBe("WRONG_STATE");
    expect(code(checkExtendable({ endsAt: at(15 * DAY) }, now))).toBe("TOO_EARLY");
    expect(code(checkExtendable({ endsAt: at(14 * DAY) }, now))).toBe("ok");
    expect(code(checkExtendable({ endsAt: at(-1) }, now))).toBe("WRONG_STATE");
    expect(code(checkRenewable({ endsAt: at(DAY) }, now))).toBe("WRONG_STATE");
    expect(code(checkRenewable({ endsAt: at(-30 * DAY) }, now))).toBe("ok");
    expect(code(checkRenewable({ endsAt: at(-31 * DAY) }, now))).toBe("TOO_LATE");
  });
  it("the proposed end is as long again, within the role's maximum", () => {
    const a = { kind: "active" as const, startsAt: at(-10 * DAY), createdAt: at(-10 * DAY), endsAt: at(5 * DAY) };
    expect(proposedEnd(rules, a, now)).toEqual(at(20 * DAY)); // capped: start + 30d
    const ended = { ...a, startsAt: at(-20 * DAY), endsAt: at(-10 * DAY) };
    expect(proposedEnd(rules, ended, now)).toEqual(at(10 * DAY));
  });
});
