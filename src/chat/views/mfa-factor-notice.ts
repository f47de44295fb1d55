import type { FactorNotice } from "../../domain/notices.js";
import { at, type Card, type Rich, who } from "./card.js";
import { personRef } from "./request-parts.js";

const METHODS: Record<string, string> = { totp: "an authenticator app", passkey: "a passkey" };

/** A factor added, replaced or removed: the person hears it, and so do the admins when it waits out a delay. */
export function factorNoticeCard(n: FactorNotice): Card {
  const what = METHODS[n.method] ?? n.method;
  const subject: Rich = n.forAdmins ? [who(personRef(n.person))] : ["You"];
  const line: Rich =
    n.change === "removed"
      ? [...subject, ` no longer ${n.forAdmins ? "has" : "have"} ${what} for MFA step-up`]
      : [...subject, ` ${n.change === "added" ? "added" : "replaced your factor with"} ${what} for MFA step-up`];
  if (n.by) line.push(` (by ${n.by})`);
  if (n.via === "delay" && n.usableAt)
    line.push(". It was set up without proof and counts from ", at(n.usableAt), " unless it is removed");
  line.push(".");
  const header = n.change === "removed" ? "MFA factor removed" : "MFA factor added";
  return {
    header,
    tone: n.via === "delay" ? "warning" : "info",
    summary: `${n.person.name}: ${header.toLowerCase()}`,
    blocks: [
      { type: "text", text: line },
      {
        type: "context",
        lines: [
          [
            n.forAdmins
              ? "If they did not do this, remove it and reset their MFA (pim mfa reset). · "
              : "If this was not you, tell your security team at once. · ",
            at(n.at),
          ],
        ],
      },
    ],
  };
}
