import { closeReviewNow, startReviewByName } from "../../app/admin/operations.js";
import { campaignView, openCampaigns } from "../../app/reviews/views.js";
import { type Command, refused } from "../command.js";
import { EXIT, json, table } from "../output.js";

export const reviewsList: Command = {
  name: "reviews list",
  synopsis: "",
  summary: "access reviews running now",
  options: {},
  positionals: { min: 0, max: 0 },
  async run(args, ctx) {
    const { deps } = await ctx.session();
    const open = (await openCampaigns(deps.db)).map((c) => ({ ...campaignView(c), startedBy: c.startedBy }));
    if (args.json) ctx.io.out(json(open));
    else
      ctx.io.out(
        table(
          ["id", "title", "started by", "ends"],
          open.map((c) => [c.id, c.title, c.startedBy, c.endsAt]),
        ),
      );
    return EXIT.ok;
  },
};

export const reviewsStart: Command = {
  name: "reviews start",
  synopsis: "<review-name | role>",
  summary: "start a review declared in the policy file now, or review every assignment of a role",
  options: {},
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const { deps, actor } = await ctx.session();
    const started = await startReviewByName(deps, actor, args.positionals[0]!);
    if (!started.ok) return refused(ctx, args, started.error);
    const c = started.value.campaign;
    if (args.json)
      ctx.io.out(json({ ok: true, id: c.id, title: c.settings.title, items: started.value.items, endsAt: c.endsAt }));
    else
      ctx.io.out(
        `Started ${c.settings.title} (${c.id}): ${started.value.items} items, ends ${c.endsAt.toISOString()}.`,
      );
    return EXIT.ok;
  },
};

export const reviewsClose: Command = {
  name: "reviews close",
  synopsis: "<review-id>",
  summary: "close a running review now; its outcomes apply when the review applies automatically",
  options: {},
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const { deps, actor } = await ctx.session();
    const closed = await closeReviewNow(deps, actor, args.positionals[0]!);
    if (!closed.ok) return refused(ctx, args, closed.error);
    if (args.json) ctx.io.out(json({ ok: true, id: args.positionals[0] }));
    else ctx.io.out(`Closed ${args.positionals[0]}.`);
    return EXIT.ok;
  },
};
