import type { Digest } from "../../domain/notices.js";
import { at, type Block, type Card, type Rich } from "./card.js";

const day = (d: Date) => d.toISOString().slice(0, 10);

/** The weekly digest an administrator gets. */
export function digestCard(d: Digest): Card {
  const alerts = d.openAlerts.high + d.openAlerts.medium + d.openAlerts.low;
  const lines = (rows: Rich[]): Rich => rows.flatMap((r, i) => (i > 0 ? ["\n", ...r] : r));
  const blocks: Block[] = [
    {
      type: "text",
      text: [
        `From ${day(d.from)} to ${day(d.to)}: ${d.totalActivations} activation${d.totalActivations === 1 ? "" : "s"}.`,
      ],
    },
    { type: "text", text: [{ strong: "Activations by role" }] },
    {
      type: "text",
      text:
        d.activationsByRole.length === 0
          ? ["None."]
          : lines(d.activationsByRole.slice(0, 10).map((r) => [`• ${r.roleName}: ${r.count}`])),
    },
    { type: "text", text: [{ strong: "Top activators" }] },
    {
      type: "text",
      text: d.topActivators.length === 0 ? ["None."] : lines(d.topActivators.map((t) => [`• ${t.name}: ${t.count}`])),
    },
    {
      type: "fields",
      fields: [
        {
          label: "Open alerts",
          value: [`${alerts} (${d.openAlerts.high} high, ${d.openAlerts.medium} medium, ${d.openAlerts.low} low)`],
        },
        { label: "Reviews in progress", value: [String(d.reviewsDue.length)] },
      ],
    },
  ];
  if (d.newestAlerts.length > 0)
    blocks.push({
      type: "text",
      text: lines(
        d.newestAlerts.map((a) => [`• [${a.severity}] ${a.title}, since `, at(a.openedAt), ` ${day(a.openedAt)}`]),
      ),
    });
  if (d.reviewsDue.length > 0)
    blocks.push(
      { type: "text", text: [{ strong: "Reviews due" }] },
      {
        type: "text",
        text: lines(
          d.reviewsDue.map((r) => [
            `• ${r.title}: ends ${day(r.endsAt)}, ${r.undecided} undecided`,
            ...(r.mine > 0 ? [`, ${r.mine} waiting for you`] : []),
          ]),
        ),
      },
    );
  return {
    header: "Your weekly PIM digest",
    tone: d.openAlerts.high > 0 ? "warning" : "info",
    summary: `${d.totalActivations} activations, ${alerts} open alerts, ${d.reviewsDue.length} reviews in progress`,
    blocks,
  };
}
