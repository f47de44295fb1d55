import type { ExpiringNotice } from "../../domain/notices.js";
import { ACTIONS } from "./action-ids.js";
import { at, type Card, timeLeft } from "./card.js";

/** Told to the holder shortly before an activation ends, with the button to extend it. */
export function expiringCard(n: ExpiringNotice, now: Date): Card {
  const left = timeLeft(n.endsAt.getTime() - now.getTime());
  return {
    header: `${n.roleName} ends soon`,
    tone: "warning",
    summary: `${n.roleName} at ${n.scope} ends in ${left}`,
    blocks: [
      { type: "text", text: [{ strong: n.roleName }, ` at ${n.scope} ends at `, at(n.endsAt), ` (${left} left).`] },
      {
        type: "buttons",
        buttons: [{ kind: "action", action: ACTIONS.extend, value: n.activationId, label: "Extend", style: "primary" }],
      },
      { type: "context", lines: [["Extending asks again under the role's policy: approval and MFA may apply."]] },
    ],
  };
}
