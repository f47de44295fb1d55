import type { AssignmentChangeNotice, AssignmentExpiringNotice } from "../../domain/notices.js";
import { ACTIONS } from "./action-ids.js";
import { daysAway, onDay } from "./assignment-dates.js";
import { at, type Block, type Card, type Rich, strong } from "./card.js";

const HEADER: Record<AssignmentChangeNotice["change"], string> = {
  created: "assigned",
  updated: "assignment changed",
  removed: "assignment removed",
};

const until = (endsAt: Date | null) => (endsAt ? `until ${onDay(endsAt)}` : "permanently");

/** An assignment an administrator made, changed or removed, for the audiences the role's policy names. */
export function assignmentChangeCard(n: AssignmentChangeNotice): Card {
  const what: Rich =
    n.change === "created"
      ? [strong(n.holder), ` is now ${n.kind} for `, strong(n.roleName), ` at ${n.scope} ${until(n.endsAt)}.`]
      : n.change === "updated"
        ? [strong(n.holder), `'s ${n.kind} assignment for `, strong(n.roleName), ` at ${n.scope} now lasts `]
        : [strong(n.holder), ` is no longer ${n.kind} for `, strong(n.roleName), ` at ${n.scope}.`];
  if (n.change === "updated") what.push(`${until(n.endsAt)}.`);
  const header = `${n.roleName} ${HEADER[n.change]}`;
  return {
    header,
    tone: n.change === "removed" ? "warning" : "info",
    summary: `${n.holder}: ${header}`,
    blocks: [
      { type: "text", text: what },
      { type: "fields", fields: [{ label: "By", value: [n.by] }] },
      ...(n.reason ? [{ type: "quote" as const, label: "Reason", text: n.reason }] : []),
      { type: "context", lines: [[...(n.assignmentId ? [`Assignment ${n.assignmentId} · `] : []), at(n.at)]] },
    ],
  };
}

/** An assignment ending soon: the holder's reminder with Extend, or the administrators' copy. */
export function assignmentExpiringCard(n: AssignmentExpiringNotice, now: Date): Card {
  const when = daysAway(n.endsAt.getTime() - now.getTime());
  const header = n.forAdmins ? `${n.holder}'s ${n.roleName} ends ${when}` : `Your ${n.roleName} ends ${when}`;
  const text: Rich = [
    n.forAdmins ? `${n.holder}'s ` : "Your ",
    `${n.kind} assignment for `,
    strong(n.roleName),
    ` at ${n.scope} ends on ${onDay(n.endsAt)} (${when}).`,
  ];
  const next: Block[] = n.forAdmins
    ? [{ type: "context", lines: [["The holder was reminded and may ask to extend it; administrators decide."]] }]
    : n.extendable
      ? [
          {
            type: "buttons",
            buttons: [
              {
                kind: "action",
                action: ACTIONS.assignmentExtend,
                value: n.assignmentId,
                label: "Extend",
                style: "primary",
              },
            ],
          },
          { type: "context", lines: [["Extending asks the administrators, with your reason; they decide."]] },
        ]
      : [
          {
            type: "context",
            lines: [["It is declared in pim.yaml: ask an administrator to change its end in the file."]],
          },
        ];
  return {
    header,
    tone: "warning",
    summary: header,
    blocks: [{ type: "text", text }, ...next],
  };
}
