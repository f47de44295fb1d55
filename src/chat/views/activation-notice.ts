import type { RequestView } from "../../domain/request-view.js";
import type { Block, Card } from "./card.js";
import { justificationBlocks, personRef, requestFields, roleNames, rolesBlock } from "./request-parts.js";

/** The alert channel's note that someone activated a role marked `notify`; redrawn as it ends. */
export function activationNoticeCard(view: RequestView, now: Date, roleIds: Set<string>): Card {
  const shown = { ...view, roles: view.roles.filter((r) => roleIds.has(r.roleId)) };
  const live = shown.roles.some((r) => r.status === "active" || r.status === "activating");
  const header = `${view.requester.name} ${live ? "activated" : "had"} ${roleNames(shown)}`;
  const blocks: Block[] = [
    {
      type: "text",
      text: [
        { person: personRef(view.requester) },
        live ? " activated a role marked for notice:" : " held a role marked for notice:",
      ],
    },
    rolesBlock(shown, now),
    requestFields(shown),
    ...justificationBlocks(shown),
    { type: "context", lines: [[`Request ${view.requestId}`, ...(view.extendsId ? [" · an extension"] : [])]] },
  ];
  return { header, tone: live ? "warning" : "muted", summary: header, blocks };
}
