/**
 * Reads and actions the `pim` command line (and chat, once it has the commands) runs as an
 * administrator: open activations, reviews started and closed by name, the state of things.
 */

import { toActivation } from "../../db/repos/activations.js";
import { roleByKeyOrName } from "../../db/repos/directory.js";
import { activationsWithNames } from "../../db/repos/history.js";
import { describeStatus } from "../../domain/activation.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { type EngineDeps, inTransaction } from "../kernel/unit-of-work.js";
import { closeReview } from "../reviews/campaigns.js";
import { declaredReviews, type StartedReview, startAdHocRoleReview, startDeclaredReview } from "../reviews/start.js";
import { openCampaigns } from "../reviews/views.js";
import { type Actor, authorizeAdministrator, authorizeAuditReader } from "./administrators.js";

export interface ActivationListItem {
  id: string;
  requestId: string;
  principal: { key: string; name: string };
  role: { key: string; name: string };
  scope: string;
  status: string;
  statusText: string;
  requestedAt: Date;
  endsAt: Date | null;
  justification: string | null;
}

/** Activations still open (or the newest of every state, with `all`), for administrators and auditors. */
export async function listActivations(
  deps: EngineDeps,
  actor: Actor,
  options: { all?: boolean; limit?: number } = {},
): Promise<Result<ActivationListItem[], Refusal>> {
  return inTransaction(deps, async (work) => {
    const reader = await authorizeAuditReader(work, actor, "activation.list");
    if (!reader.ok) return reader;
    const rows = await activationsWithNames(work.tx, options);
    return ok(
      rows.map(({ activation: a, principal, role }) => ({
        id: a.id,
        requestId: a.requestId,
        principal,
        role,
        scope: a.scope,
        status: a.status,
        statusText: describeStatus(toActivation(a)),
        requestedAt: a.requestedAt,
        endsAt: a.endsAt,
        justification: a.justification,
      })),
    );
  });
}

/**
 * Starts an access review by name: a review declared in pim.yaml (run now, once more), or a role
 * (every assignment of it, reviewed by managers, administrators as fallback).
 */
export async function startReviewByName(
  deps: EngineDeps,
  actor: Actor,
  name: string,
): Promise<Result<StartedReview, Refusal>> {
  const allowed = await inTransaction(deps, (work) => authorizeAdministrator(work, actor, "review.start", { name }));
  if (!allowed.ok) return allowed;
  const by = allowed.value.key;
  const wanted = name.trim();
  const declared = await declaredReviews(deps.db);
  const review = declared.find((r) => r.name === wanted.toLowerCase());
  if (review) {
    const started = await startDeclaredReview(deps, review, deps.clock.now(), by);
    return started ? ok(started) : err(refuse("WRONG_STATE", "That review was just started."));
  }
  const role = await roleByKeyOrName(deps.db, wanted);
  if (!role)
    return err(
      refuse(
        "NOT_FOUND",
        `There is no review or role called "${wanted.slice(0, 60)}". Reviews: ${declared.map((r) => r.name).join(", ") || "none declared"}.`,
      ),
    );
  return startAdHocRoleReview(deps, role, by);
}

/** Closes a running review now (its outcomes are applied when it applies automatically). */
export async function closeReviewNow(
  deps: EngineDeps,
  actor: Actor,
  campaignId: string,
): Promise<Result<void, Refusal>> {
  const allowed = await inTransaction(deps, (work) =>
    authorizeAdministrator(work, actor, "review.close", { campaignId }),
  );
  if (!allowed.ok) return allowed;
  const open = (await openCampaigns(deps.db)).some((c) => c.id === campaignId);
  if (!open) return err(refuse("NOT_FOUND", `No running review has the id ${campaignId.slice(0, 40)}.`));
  return (await closeReview(deps, campaignId))
    ? ok(undefined)
    : err(refuse("WRONG_STATE", "That review was just closed."));
}
