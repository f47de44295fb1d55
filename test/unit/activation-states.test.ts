import { describe, expect, it } from "vitest";
import {
  type Activation,
  approve,
  beginEnd,
  close,
  confirmGrant,
  confirmRevoke,
  type In,
  satisfyMfa,
  submit,
} from "../../src/domain/activation.js";
import { HOUR } from "../../src/domain/duration.js";

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
});
