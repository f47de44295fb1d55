import type { RevokedNotice } from "../../domain/notices.js";
import { at, type Card, strong } from "./card.js";

/** What the holder is told when an administrator revoked one of their roles. */
export type RevokedNoticeModel = Omit<RevokedNotice, "holder" | "activationId">;

/** The holder's direct message when an administrator revoked one of their roles. */
export function revokedNoticeCard(n: RevokedNoticeModel): Card {
  const summary = `${n.roleName} was revoked by ${n.revokedBy}`;
  return {
    header: "Role revoked",
    tone: "warning",
    summary,
    blocks: [
      {
        type: "text",
        text: [strong(n.roleName), ` at ${n.scope} was revoked by ${n.revokedBy}; it is being taken away now.`],
      },
      { type: "quote", label: "Reason", text: n.reason },
      { type: "context", lines: [[`Request ${n.requestId} · `, at(n.at)]] },
    ],
  };
}
