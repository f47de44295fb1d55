import { listAllAssignments } from "../../app/admin/members.js";
import { listActivations } from "../../app/admin/operations.js";
import { countOpenAlerts } from "../../app/alerts/records.js";
import { openCampaigns } from "../../app/reviews/views.js";
import { pendingAssignmentRequests } from "../../db/repos/assignments.js";
import { type Command, refused } from "../command.js";
import { EXIT, json, table } from "../output.js";

export const status: Command = {
  name: "status",
  synopsis: "",
  summary: "what is held, pending and alerting now",
  options: {},
  positionals: { min: 0, max: 0 },
  async run(args, ctx) {
    const { deps, actor, handle } = await ctx.session();
    const [assignments, activations] = [await listAllAssignments(deps, actor), await listActivations(deps, actor)];
    if (!assignments.ok) return refused(ctx, args, assignments.error);
    if (!activations.ok) return refused(ctx, args, activations.error);
    const by = (status: string) => activations.value.filter((a) => a.status === status).length;
    const summary = {
      database: handle.driver,
      assignments: {
        eligible: assignments.value.filter((a) => a.kind === "eligible" && a.inForce).length,
        active: assignments.value.filter((a) => a.kind === "active" && a.inForce).length,
      },
      activations: {
        active: by("active"),
        pendingApproval: by("pending_approval"),
        pendingMfa: by("pending_mfa"),
        inFlight: by("activating") + by("ending"),
      },
      assignmentRequests: (await pendingAssignmentRequests(deps.db)).length,
      openAlerts: await countOpenAlerts(deps.db),
      reviewsRunning: (await openCampaigns(deps.db)).length,
    };
    if (args.json) {
      ctx.io.out(json(summary));
      return EXIT.ok;
    }
    ctx.io.out(
      table(
        ["what", "count"],
        [
          ["eligible assignments in force", summary.assignments.eligible],
          ["active assignments in force", summary.assignments.active],
          ["active activations", summary.activations.active],
          ["waiting for approval", summary.activations.pendingApproval],
          ["waiting for MFA", summary.activations.pendingMfa],
          ["being granted or revoked", summary.activations.inFlight],
          ["extension/renewal requests", summary.assignmentRequests],
          [
            "open alerts (high/medium/low)",
            `${summary.openAlerts.high}/${summary.openAlerts.medium}/${summary.openAlerts.low}`,
          ],
          ["reviews running", summary.reviewsRunning],
        ],
      ),
    );
    ctx.io.out(`Database: ${handle.driver}`);
    return EXIT.ok;
  },
};
