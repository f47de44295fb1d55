/**
 * Access reviews in chat: a reviewer's prompt (one card per item, or a batched card with Keep and
 * Remove per item), the reminder before the end, and the campaign's summary in the alert channel.
 */
import type { CampaignSummary, ReviewItemView, ReviewPage, ReviewReminder } from "../../domain/review-view.js";
import { ACTIONS } from "./action-ids.js";
import { at, type Block, type Card, type Rich, strong, who } from "./card.js";
import { personRef } from "./request-parts.js";

const UNANSWERED: Record<string, string> = {
  keep: "Items nobody decides are kept.",
  remove: "Items nobody decides are removed.",
  recommendation: "Items nobody decides follow the recommendation.",
};

function itemLine(item: ReviewItemView, inactiveDays: number): Rich {
  const holder = item.holder.person ? who(personRef(item.holder.person)) : strong(`${item.holder.name} (group)`);
  const last = item.lastActivatedAt
    ? ["last activated ", at(item.lastActivatedAt), ` on ${item.lastActivatedAt.toISOString().slice(0, 10)}`]
    : ["never activated"];
  return [
    holder,
    " — ",
    strong(item.roleName),
    ` at ${item.scope} (${item.kind}${item.assignmentEndsAt ? `, until ${item.assignmentEndsAt.toISOString().slice(0, 10)}` : ", permanent"})`,
    "\n",
    ...last,
    ` · ${item.activationCount} activation${item.activationCount === 1 ? "" : "s"} in ${inactiveDays} days`,
    " · recommended: ",
    strong(item.recommendation === "keep" ? "Keep" : "Remove"),
  ];
}

function decisionLine(item: ReviewItemView): Rich {
  if (item.outcome && !item.decision)
    return [`Not answered: ${item.outcome === "keep" ? "kept" : "removed"} by the review's rule.`];
  if (!item.decision) return [];
  const verb = item.decision.decision === "keep" ? "Kept" : "Removed";
  return [
    `${verb} by ${item.decision.by} at `,
    at(item.decision.at),
    ...(item.decision.reason ? [`: “${item.decision.reason}”`] : []),
  ];
}

export function reviewPromptCard(page: ReviewPage, now: Date): Card {
  const { campaign } = page;
  const open = campaign.status === "open" && now < campaign.endsAt;
  const blocks: Block[] = [
    {
      type: "text",
      text: open
        ? [
            "Is this access still needed? Decide by ",
            at(campaign.endsAt),
            ` on ${campaign.endsAt.toISOString().slice(0, 10)}. ${UNANSWERED[campaign.unanswered]}`,
          ]
        : ["This review has ended; decisions can no longer change."],
    },
  ];
  for (const item of page.items) {
    blocks.push({ type: "divider" }, { type: "text", text: itemLine(item, campaign.inactiveDays) });
    const decided = decisionLine(item);
    if (decided.length > 0) blocks.push({ type: "context", lines: [decided] });
    if (open)
      blocks.push({
        type: "buttons",
        buttons: [
          { kind: "action", action: ACTIONS.reviewKeep, value: item.id, label: "Keep", style: "primary" },
          { kind: "action", action: ACTIONS.reviewRemove, value: item.id, label: "Remove", style: "danger" },
        ],
      });
  }
  const paging = page.pages > 1 ? ` · part ${page.page} of ${page.pages}` : "";
  blocks.push({ type: "context", lines: [[`${page.undecided} of your ${page.total} items still to decide${paging}`]] });
  const undecidedHere = page.items.filter((i) => !i.decision).length;
  return {
    header:
      page.items.length === 1
        ? `Review: ${page.items[0]!.roleName} for ${page.items[0]!.holder.name}`
        : `${campaign.title}${paging}`,
    tone: !open ? "muted" : undecidedHere > 0 ? "waiting" : "success",
    summary: `${campaign.title}: ${page.undecided} of ${page.total} to decide`,
    blocks,
  };
}

export function reviewReminderCard(r: ReviewReminder, now: Date): Card {
  const left = r.campaign.endsAt.getTime() - now.getTime();
  const hours = Math.max(1, Math.round(left / 3_600_000));
  const text = `${r.undecided} item${r.undecided === 1 ? "" : "s"} of ${r.campaign.title} still wait for your decision; the review ends in about ${hours} hour${hours === 1 ? "" : "s"}.`;
  return {
    header: `Reminder: ${r.campaign.title}`,
    tone: "waiting",
    summary: text,
    blocks: [
      { type: "text", text: [text, " ", UNANSWERED[r.campaign.unanswered] ?? ""] },
      {
        type: "context",
        lines: [["Ends at ", at(r.campaign.endsAt), ` on ${r.campaign.endsAt.toISOString().slice(0, 10)}`]],
      },
    ],
  };
}

export function reviewSummaryCard(s: CampaignSummary): Card {
  const removed = s.removedByDecision + s.removedUnanswered;
  const kept = s.keptByDecision + s.keptUnanswered;
  const blocks: Block[] = [
    {
      type: "text",
      text: [
        `${s.campaign.title} has ended: ${s.items} assignment${s.items === 1 ? "" : "s"} reviewed, ${s.decided} decided by reviewers.`,
      ],
    },
    {
      type: "fields",
      fields: [
        { label: "Kept", value: [`${kept} (${s.keptByDecision} decided, ${s.keptUnanswered} unanswered)`] },
        { label: "Removed", value: [`${removed} (${s.removedByDecision} decided, ${s.removedUnanswered} unanswered)`] },
        { label: "Applied", value: [s.applied ? "yes: removals done and audited" : "not yet"] },
      ],
    },
  ];
  if (s.removedFromFile > 0)
    blocks.push({
      type: "text",
      text: [
        `${s.removedFromFile} of the removed assignments are declared in pim.yaml: remove them there too, or the next apply restores them.`,
      ],
    });
  if (!s.applied && removed > 0)
    blocks.push({
      type: "buttons",
      buttons: [
        { kind: "action", action: ACTIONS.reviewApply, value: s.campaign.id, label: "Apply removals", style: "danger" },
      ],
    });
  return {
    header: `Review finished: ${s.campaign.title}`,
    tone: removed > 0 ? "warning" : "success",
    summary: `${s.campaign.title}: ${kept} kept, ${removed} removed`,
    blocks,
  };
}
