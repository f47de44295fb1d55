import type { ActivityNotice, RemovalsNotice } from "../../domain/notices.js";
import { at, type Card, type Rich, who } from "./card.js";
import { personRef } from "./request-parts.js";

const WHAT: Record<ActivityNotice["kind"], string> = {
  granted: "was granted",
  ended: "ended",
  denied: "was denied",
  failed: "failed",
  timed_out: "timed out",
  approval_needed: "is waiting for approval",
};

/** An activation's news for the audiences its role's policy names (admins, user:…, group:…). */
export function policyNoticeCard(n: ActivityNotice): Card {
  const line: Rich = [who(personRef(n.requester)), "'s ", { strong: n.roleName }, ` at ${n.scope} ${WHAT[n.kind]}`];
  if (n.kind === "granted" && n.endsAt) line.push(" until ", at(n.endsAt));
  if (n.reason && n.kind !== "granted") line.push(`: ${n.reason}`);
  line.push(".");
  return {
    header: `${n.roleName} ${WHAT[n.kind]}`,
    tone:
      n.kind === "granted"
        ? "info"
        : n.kind === "approval_needed"
          ? "waiting"
          : n.kind === "ended"
            ? "muted"
            : "danger",
    summary: `${n.requester.name}: ${n.roleName} ${WHAT[n.kind]}`,
    blocks: [
      { type: "text", text: line },
      { type: "context", lines: [[`Request ${n.requestId} · `, at(n.at)]] },
    ],
  };
}

/** What an access review removed, for the holder (their own) or the audiences of the roles' policy. */
export function removalsCard(n: RemovalsNotice): Card {
  const header = n.own
    ? `${n.review}: your access was removed`
    : `${n.review}: ${n.total} assignment${n.total === 1 ? "" : "s"} removed`;
  const lines: Rich = n.removals.flatMap((r, i) => [
    ...(i > 0 ? ["\n"] : []),
    "• ",
    ...(n.own ? [] : [`${r.holder}: `]),
    { strong: r.roleName },
    ` at ${r.scope} (${r.kind})`,
  ]);
  return {
    header,
    tone: "warning",
    summary: header,
    blocks: [
      {
        type: "text",
        text: [
          n.own
            ? "The access review ended and decided these assignments are no longer needed; they are removed and any standing access revoked."
            : "The access review ended; these assignments are removed and any standing access revoked.",
        ],
      },
      { type: "text", text: lines },
      ...(n.total > n.removals.length
        ? [{ type: "context" as const, lines: [[`…and ${n.total - n.removals.length} more.`]] }]
        : []),
    ],
  };
}
