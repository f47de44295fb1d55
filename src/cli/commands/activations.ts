import { listActivations } from "../../app/admin/operations.js";
import { revokeActivationAsAdmin } from "../../app/admin/revoke-activation.js";
import { count, text } from "../args.js";
import { type Command, refused } from "../command.js";
import { EXIT, json, table, UsageError } from "../output.js";

export const activationsList: Command = {
  name: "activations list",
  synopsis: "[--all] [--limit N]",
  summary: "activations not yet closed (--all: the newest of every state)",
  options: { all: { type: "boolean" }, limit: { type: "string" } },
  positionals: { min: 0, max: 0 },
  async run(args, ctx) {
    const { deps, actor } = await ctx.session();
    const listed = await listActivations(deps, actor, {
      all: args.values.all === true,
      limit: count(args.values, "limit"),
    });
    if (!listed.ok) return refused(ctx, args, listed.error);
    if (args.json) ctx.io.out(json(listed.value));
    else
      ctx.io.out(
        table(
          ["id", "principal", "role", "scope", "status", "requested", "ends"],
          listed.value.map((a) => [a.id, a.principal.key, a.role.key, a.scope, a.statusText, a.requestedAt, a.endsAt]),
        ),
      );
    return EXIT.ok;
  },
};

export const activationsEnd: Command = {
  name: "activations end",
  synopsis: "<activation-id> --reason TEXT",
  summary: "revoke an activation now, with a reason (audited; the holder is told)",
  options: { reason: { type: "string" } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const reason = text(args.values, "reason");
    if (!reason) throw new UsageError("--reason is required");
    const { deps, actor } = await ctx.session();
    const done = await revokeActivationAsAdmin(deps, actor, { activationId: args.positionals[0]! }, reason);
    if (!done.ok) return refused(ctx, args, done.error);
    const [revoked] = done.value;
    if (args.json) ctx.io.out(json({ ok: true, id: revoked!.id, status: revoked!.status }));
    else ctx.io.out(`Revoking ${revoked!.id}: the role is taken away on its target now.`);
    return EXIT.ok;
  },
};
