import { expect, it } from "vitest";
import { plainText } from "../../src/chat/views/card.js";
import { HISTORY_SHOWN, outcomeOf, type RequestHistoryRow, requestHistoryCard } from "../../src/chat/views/history.js";
import { AUDIT_SHOWN, type AuditEventRow, auditEventsCard } from "../../src/chat/views/history-audit.js";

const END = new Date("2026-12-05T16:00:00Z");
const role = (status: string, reason: string | null = null, endsAt: Date | null = END) => ({
  roleName: "Reader",
  scope: "/",
  status,
  reason,
  endsAt,
});
const words = (card: ReturnType<typeof requestHistoryCard>) =>
  card.blocks
    .map((b) => (b.type === "text" ? plainText(b.text) : b.type === "context" ? b.lines.map(plainText).join("\n") : ""))
    .join("\n");

it("says how each role of a request ended, in words", () => {
  expect(outcomeOf(role("active"))).toBe("granted, active until 2026-12-05 16:00 UTC");
  expect(outcomeOf(role("ended", "expired"))).toBe("granted, expired 2026-12-05 16:00 UTC");
  expect(outcomeOf(role("ended", "revoked"))).toBe("granted, revoked by an administrator");
  expect(outcomeOf(role("ended", "deactivated"))).toBe("granted, ended early");
  expect(outcomeOf(role("ended", "superseded"))).toBe("granted, replaced by its extension");
  expect(outcomeOf(role("denied", "Not during the freeze"))).toBe("denied: Not during the freeze");
  expect(outcomeOf(role("denied", `${"x".repeat(500)}`)).length).toBeLessThan(230);
  expect(outcomeOf(role("timed_out", "timed out"))).toBe("timed out: nobody decided in time");
  expect(outcomeOf(role("pending_approval"))).toBe("waiting for approval");
  expect(outcomeOf(role("canceled", "canceled by the requester"))).toBe("canceled");
});

it("shows at most fifteen requests and counts the rest", () => {
  const items: RequestHistoryRow[] = Array.from({ length: HISTORY_SHOWN + 4 }, (_, i) => ({
    requestedAt: new Date(END.getTime() - i * 60_000),
    justification: `Round ${i}`,
    ticket: null,
    roles: [role("ended", "expired")],
  }));
  const card = requestHistoryCard(items, 90, "/elevate");
  expect(card.blocks.filter((b) => b.type === "text")).toHaveLength(HISTORY_SHOWN);
  expect(words(card)).toContain("4 more requests are not shown");
  expect(words(requestHistoryCard([], 90, "/elevate"))).toContain("You have asked for no role in that time.");
});

it("draws the newest audit events five to a block, and says when more match", () => {
  const rows: AuditEventRow[] = Array.from({ length: AUDIT_SHOWN }, (_, i) => ({
    id: i,
    at: END,
    event: "approval.deny",
    actor: "bob",
    subject: "alice",
    role: "db-admin",
    scope: "/mg/prod",
    decision: "deny",
    data: { comment: "Not now" },
  }));
  const card = auditEventsCard(rows, true, "person:alice", "/elevate");
  expect(card.blocks.filter((b) => b.type === "text")).toHaveLength(AUDIT_SHOWN / 5);
  expect(words(card)).toContain(
    "approval.deny 2026-12-05 16:00 UTC — by bob, for alice, db-admin at /mg/prod, comment: Not now",
  );
  expect(words(card)).toContain("/elevate audit export person:alice");
  expect(words(auditEventsCard([], false, "", "/elevate"))).toContain("Nothing in the audit log matches");
});
