import { describe, expect, it } from "vitest";
import {
  type Activation,
  approve,
  beginEnd,
  close,
  confirmGrant,
  confirmRevoke,
  describeStatus,
  type In,
  satisfyMfa,
  submit,
} from "../../src/domain/activation.js";
import { HOUR } from "../../src/domain/duration.js";
import { parseStart } from "../../src/domain/start-time.js";

const t0 = new Date("2026-11-02T09:00:00Z");
const later = (ms: number) => new Date(t0.getTime() + ms);

function requested(needs: { mfa?: boolean; approval?: number } = {}): In<"requested"> {
  return {
    status: "requested",
    id: "act_1",
    requestId: "req_1",
    principalId: "usr_a",
    roleId: "rol_1",
    scope: "/",
    durationMs: 2 * HOUR,
    justification: "why",
    ticket: null,
    requestedAt: t0,
    mfaRequired: needs.mfa ?? false,
    mfaSatisfiedAt: null,
    approvalRequired: (needs.approval ?? 0) > 0,
    approvalsNeeded: needs.approval ?? 0,
    approvalDeadline: later(24 * HOUR),
    extendsId: null,
    startsAt: null,
  };
}

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe("activation state machine", () => {
  it("goes requested → pending_mfa → pending_approval → activating → active → ending → ended", () => {
    let a: Activation = submit(requested({ mfa: true, approval: 2 }));
    expect(a.status).toBe("pending_mfa");
    a = unwrap(satisfyMfa(a, later(1000)));
    expect(a.status).toBe("pending_approval");
    a = unwrap(approve(a, 1));
    expect(a.status).toBe("pending_approval");
    a = unwrap(approve(a, 2));
    expect(a.status).toBe("activating");
    const active = unwrap(confirmGrant(a, later(5000)));
    expect(active.endsAt).toEqual(later(5000 + 2 * HOUR));
    a = unwrap(beginEnd(active, "expired", "system", active.endsAt));
    expect(a.status).toBe("ending");
    a = unwrap(confirmRevoke(a, later(3 * HOUR)));
    expect(a).toMatchObject({ status: "ended", reason: "expired" });
  });

  it("skips the steps a policy does not require", () => {
    expect(submit(requested()).status).toBe("activating");
    expect(submit(requested({ approval: 1 })).status).toBe("pending_approval");
    expect(submit(requested({ mfa: true })).status).toBe("pending_mfa");
    expect(unwrap(satisfyMfa(submit(requested({ mfa: true })), t0)).status).toBe("activating");
  });

  it.each([
    ["denied", "pending_approval", true],
    ["denied", "pending_mfa", false],
    ["canceled", "pending_mfa", true],
    ["canceled", "active", false],
    ["timed_out", "pending_approval", true],
    ["timed_out", "activating", false],
    ["failed", "activating", true],
    ["failed", "active", false],
  ] as const)("close as %s from %s: %s", (to, from, legal) => {
    const base = submit(requested({ approval: 1 }));
    const a = {
      ...base,
      status: from,
      ...(from === "active" ? { activatedAt: t0, endsAt: later(HOUR) } : {}),
    } as Activation;
    expect(close(a, to, "reason", "someone", t0).ok).toBe(legal);
  });

  it("refuses illegal transitions with a sentence, never a throw", () => {
    const pending = submit(requested({ approval: 1 }));
    const r = confirmGrant(pending, t0);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error).toMatchObject({ code: "WRONG_STATE", message: expect.stringMatching(/waiting for approval/) });
    expect(beginEnd(pending, "deactivated", "u", t0).ok).toBe(false);
    expect(confirmRevoke(pending, t0).ok).toBe(false);
    expect(satisfyMfa(pending, t0).ok).toBe(false);
  });

  it("a scheduled activation can be canceled until its start, not after", () => {
    const scheduled = submit({ ...requested(), startsAt: later(2 * HOUR) });
    expect(scheduled.status).toBe("activating");
    expect(describeStatus(scheduled)).toMatch(/scheduled for 2026-11-02T11:00/);
    expect(close(scheduled, "canceled", "changed my mind", "u", later(HOUR)).ok).toBe(true);
    expect(close(scheduled, "canceled", "too late", "u", later(2 * HOUR)).ok).toBe(false);
    expect(close(submit(requested()), "canceled", "being granted", "u", t0).ok).toBe(false);
  });
});

describe("a start as typed", () => {
  const now = new Date("2026-12-05T10:00:00Z");
  it.each([
    ["", null],
    ["now", null],
    ["in 2h", "2026-12-05T12:00:00.000Z"],
    ["in 1h 30m", "2026-12-05T11:30:00.000Z"],
    ["2026-12-06 09:00", "2026-12-06T09:00:00.000Z"],
    ["2026-12-06T09:00Z", "2026-12-06T09:00:00.000Z"],
    ["2026-12-06 09:00 UTC", "2026-12-06T09:00:00.000Z"],
    ["2026-12-06 09:00+01:00", "2026-12-06T08:00:00.000Z"],
    ["2026-12-06 09:15:30-02:30", "2026-12-06T11:45:30.000Z"],
  ])("%j is %s", (typed, expected) => {
    const r = parseStart(typed, now);
    expect(r.ok && (r.value?.toISOString() ?? null)).toBe(expected);
  });
  it.each(["tomorrow", "in two hours", "2026-02-31 09:00", "2026-12-06 25:00", "2026-12-06", "9am", "in -2h"])(
    "%j is refused with the forms it accepts",
    (typed) => {
      const r = parseStart(typed, now);
      expect(!r.ok && r.error).toMatchObject({ code: "START_INVALID", message: expect.stringMatching(/in 2h/) });
    },
  );
});
