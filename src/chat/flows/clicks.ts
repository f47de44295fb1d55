import { type DecideRefusal, decide } from "../../app/activation/decide.js";
import { cancelRequest, deactivate } from "../../app/activation/end.js";
import { getRequestView } from "../../app/activation/views.js";
import { applyReview } from "../../app/reviews/campaigns.js";
import { recordDecision } from "../../app/reviews/decide.js";
import { ACTIONS, type ActionId } from "../views/action-ids.js";
import { alreadyDecidedLine } from "../views/approval-card.js";
import type { Card, Rich } from "../views/card.js";
import { decideAssignment } from "./assignments.js";
import { type Acting, acting, type ClickInput, type FlowContext, type Interaction } from "./interaction.js";
import { actionFailed, clickNotCounted, clickStillTrying, logNotRecorded, tryRecording } from "./recording.js";

type Click = (ctx: FlowContext, ix: Acting, value: string, input: ClickInput) => Promise<void>;

/**
 * Every button of the product, once. The value only names what the button is about (a request,
 * an activation, an alert, a review item); whether this person may act on it is the engine's call.
 */
export const CLICKS: Record<ActionId, Click> = {
  [ACTIONS.approve]: async (ctx, ix, requestId, input) => {
    const decided = await decide(ctx.deps, {
      requestId,
      approverId: ix.me.id,
      decision: "approve",
      comment: input.comment,
    });
    if (decided.ok) return ix.confirm("Approved.");
    if (decided.error.code === "STEP_UP_REQUIRED")
      return ix.reply(await stepUpCard(ctx, requestId, ix.me.id, input.comment, decided.error.message));
    await ix.reply(await refusalText(ctx, requestId, decided.error));
  },

  [ACTIONS.deny]: async (ctx, ix, requestId, input) => {
    if (!input.comment) return ix.openForm({ kind: "deny", requestId });
    const error = await denyRequest(ctx, ix, requestId, input.comment);
    if (error) await ix.reply(error);
    else await ix.confirm("Denied.");
  },

  [ACTIONS.cancel]: async (ctx, ix, requestId) => {
    const canceled = await cancelRequest(ctx.deps, requestId, ix.me.id);
    if (canceled.ok) await ix.confirm("Request canceled.");
    else await ix.reply(canceled.error.message);
  },

  [ACTIONS.endNow]: async (ctx, ix, activationId) => {
    const ended = await deactivate(ctx.deps, activationId, ix.me.id);
    if (ended.ok) await ix.confirm("Ending it now; it is being revoked.");
    else await ix.reply(ended.error.message);
  },

  [ACTIONS.extend]: (_ctx, ix, activationId) => ix.openForm({ kind: "extend", activationId }),

  [ACTIONS.activate]: (_ctx, ix, roleId) => ix.openForm({ kind: "request", preselectRoleId: roleId || null }),

  [ACTIONS.acknowledge]: async (ctx, ix, alertId) => {
    const alert = await ctx.ports.acknowledgeAlert(alertId, ix.me.id);
    if (!alert) return ix.reply("This alert is gone, or you may not acknowledge it.");
    await ctx.notifier.showAlert(alert);
    await ix.confirm(`Acknowledged: ${alert.title}.`);
  },

  [ACTIONS.reviewKeep]: async (ctx, ix, itemId) => {
    const decided = await recordDecision(ctx.deps, ix.me.id, { itemId, decision: "keep" });
    if (!decided.ok) await ix.reply(decided.error.message);
  },

  [ACTIONS.reviewRemove]: (_ctx, ix, itemId) => ix.openForm({ kind: "review-remove", itemId }),

  [ACTIONS.reviewApply]: async (ctx, ix, campaignId) => {
    const applied = await applyReview(ctx.deps, campaignId, ix.me.id);
    if (applied.ok) await ix.confirm(`Done: ${applied.value.removed} assignments removed and audited.`, true);
    else await ix.reply(applied.error.message);
  },

  [ACTIONS.revoke]: (_ctx, ix, activationId) => ix.openForm({ kind: "revoke", activationId }),

  [ACTIONS.assignmentExtend]: (_ctx, ix, assignmentId) => ix.openForm({ kind: "assignment-extend", assignmentId }),

  [ACTIONS.assignmentRenew]: (_ctx, ix, assignmentId) => ix.openForm({ kind: "assignment-renew", assignmentId }),

  [ACTIONS.assignmentApprove]: (ctx, ix, requestId, input) => decideAssignment(ctx, ix, requestId, "approve", input),

  [ACTIONS.assignmentDeny]: (ctx, ix, requestId, input) => decideAssignment(ctx, ix, requestId, "deny", input),
  [ACTIONS.assignmentRemove]: (_ctx, ix, assignmentId) => ix.openForm({ kind: "assignment-remove", assignmentId }),
};

/** How an attempt by someone PIM does not know is named in the audit log. */
const ATTEMPTED: Record<string, string> = {
  [ACTIONS.approve]: "approve",
  [ACTIONS.deny]: "deny",
  [ACTIONS.cancel]: "cancel",
  [ACTIONS.endNow]: "end now",
  [ACTIONS.extend]: "extend",
  [ACTIONS.activate]: "request form",
  [ACTIONS.acknowledge]: "acknowledge alert",
  [ACTIONS.reviewKeep]: "review keep",
  [ACTIONS.reviewRemove]: "review remove",
  [ACTIONS.reviewApply]: "apply review",
  [ACTIONS.revoke]: "revoke",
  [ACTIONS.assignmentExtend]: "extend assignment",
  [ACTIONS.assignmentRenew]: "renew assignment",
  [ACTIONS.assignmentApprove]: "approve assignment request",
  [ACTIONS.assignmentDeny]: "deny assignment request",
  [ACTIONS.assignmentRemove]: "remove assignment",
};

/**
 * Runs a click; a button the product no longer has gets a plain answer. A click the database
 * failed for a moment is run again while the platform allows; one that still could not be
 * recorded is logged with its request id, and the clicker is told it did not count.
 */
export async function runClick(
  ctx: FlowContext,
  interaction: Interaction,
  action: string,
  value: string,
  input: ClickInput = { comment: null },
): Promise<void> {
  const attempted = ATTEMPTED[action] ?? action;
  const log = ctx.log.child({ requestId: interaction.requestId, action });
  const flows = { ...ctx, log };
  const { requestId, retryWithinMs } = interaction;
  const recording = tryRecording(
    ctx.recording,
    log,
    retryWithinMs,
    async () => {
      const ix = await acting(interaction, attempted);
      if (!ix) return;
      const click = (CLICKS as Record<string, Click | undefined>)[action];
      if (!click) return ix.reply("This button is no longer supported; ask for a new card.");
      // PostgreSQL text cannot hold U+0000: no card of ours carries it, and a comment with it cannot be kept.
      if (value.includes("\u0000"))
        return ix.reply("This button's value is not one pim-bot wrote; ask for a new card.");
      if (input.comment?.includes("\u0000"))
        return ix.reply(
          "The comment contains a NUL character (U+0000), which cannot be kept: remove it and click again.",
        );
      await click(flows, ix, value, input);
    },
    {
      withinMs: interaction.answerWithinMs,
      late: () => interaction.late(clickStillTrying(requestId, retryWithinMs)),
    },
  );
  const recorded = await recording.catch((error: unknown) => {
    log.error({ err: error }, `the ${attempted} click failed`);
    return null;
  });
  if (!recorded) return interaction.notRecorded(actionFailed(requestId));
  if (recorded.ok) return;
  logNotRecorded(log, recorded, `the ${attempted} click`);
  await interaction.notRecorded(clickNotCounted(requestId));
}

/** Denies a request with the approver's comment; returns what went wrong, if anything. */
export async function denyRequest(
  ctx: FlowContext,
  ix: Pick<Acting, "me">,
  requestId: string,
  comment: string,
): Promise<Rich | null> {
  const decided = await decide(ctx.deps, { requestId, approverId: ix.me.id, decision: "deny", comment });
  return decided.ok ? null : refusalText(ctx, requestId, decided.error);
}

/** A refusal in words; a late click is told who decided and when. */
async function refusalText(ctx: FlowContext, requestId: string, refusal: DecideRefusal): Promise<Rich> {
  if (!refusal.decidedBy) return [refusal.message];
  const view = await getRequestView(ctx.deps.db, requestId, ctx.deps.clock.now());
  return alreadyDecidedLine(refusal.decidedBy, view ? view.decisions.map((d) => d.approver) : []);
}

/** Approving this role needs the approver's own MFA first: the link to do it, when there is one. */
async function stepUpCard(
  ctx: FlowContext,
  requestId: string,
  approverId: string,
  comment: string | null,
  message: string,
): Promise<Card> {
  const url = await ctx.ports.approvalStepUpLinkFor(requestId, approverId, comment).catch((error) => {
    ctx.log.warn({ err: error, requestId }, "no step-up link for the approver");
    return null;
  });
  return {
    header: "Confirm with MFA to approve",
    tone: "waiting",
    summary: message,
    blocks: [
      { type: "text", text: [message] },
      url
        ? { type: "buttons", buttons: [{ kind: "link", url, label: "Confirm and approve", style: "primary" }] }
        : { type: "text", text: [`No step-up link could be made here; ask ${ctx.askWho}.`] },
    ],
  };
}
