/**
 * What the cards about one request need beyond the request itself: per role, how approvals are
 * routed, who may decide it now, and whether its grants are announced. Plain data for
 * `routeRequestCards` (src/domain/card-routing.ts) and the views.
 */
import type { Executor } from "../../db/client.js";
import { rolesByIds } from "../../db/repos/directory.js";
import type { RoleRouting } from "../../domain/card-routing.js";
import type { RequestView } from "../../domain/request-view.js";
import { approversFor } from "./approvers.js";
import { getRequestView } from "./views.js";

export interface RequestCards {
  view: RequestView;
  roles: RoleRouting[];
  /** Roles marked `notify`, whose grants the alert channel's notice names. */
  notifyRoleIds: Set<string>;
}

export async function requestCards(db: Executor, requestId: string, now: Date): Promise<RequestCards | undefined> {
  const view = await getRequestView(db, requestId, now);
  if (!view) return undefined;
  const roles = await rolesByIds(
    db,
    view.roles.map((r) => r.roleId),
  );
  const deciders = new Set(view.approvers.map((p) => p.id));
  const routing: RoleRouting[] = [];
  for (const r of view.roles) {
    const role = roles.get(r.roleId);
    if (!role) continue;
    const settings = role.policy.activation;
    const approverIds =
      r.status === "pending_approval"
        ? [...(await approversFor(db, role, view.requester.id, now))].filter((id) => deciders.has(id))
        : [];
    routing.push({
      roleId: r.roleId,
      roleKey: r.roleKey,
      status: r.status,
      granted: r.activatedAt !== null,
      notify: role.notify,
      approvalRouting: settings.approvalRouting,
      approvalChannel: settings.approvalChannel,
      approverIds,
    });
  }
  const notifyRoleIds = new Set(routing.filter((r) => r.notify).map((r) => r.roleId));
  return { view, roles: routing, notifyRoleIds };
}

/** The roles of a request whose grants the alert channel's notice names. */
export async function notifyRoleIds(db: Executor, view: RequestView): Promise<Set<string>> {
  const roles = await rolesByIds(
    db,
    view.roles.map((r) => r.roleId),
  );
  return new Set(view.roles.filter((r) => roles.get(r.roleId)?.notify).map((r) => r.roleId));
}
