import { type AssignInput, assignRole, changeAssignmentEnd, removeAssignment } from "../../app/admin/assignments.js";
import { allowRestore, listDeclaredRemovals } from "../../app/admin/declared-removals.js";
import { listAllAssignments } from "../../app/admin/members.js";
import { date, duration, oneOf, text } from "../args.js";
import { type Command, refused } from "../command.js";
import { EXIT, json, table, UsageError } from "../output.js";

const KINDS = ["eligible", "active"] as const;

export const assignmentsList: Command = {
  name: "assignments list",
  synopsis: "[--principal KEY] [--role KEY] [--removed]",
  summary: "assignments with holder, role, scope, kind, end and source (--removed: declared ones kept removed)",
  options: { principal: { type: "string" }, role: { type: "string" }, removed: { type: "boolean" } },
  positionals: { min: 0, max: 0 },
  async run(args, ctx) {
    const { deps, actor } = await ctx.session();
    if (args.values.removed) {
      const removals = await listDeclaredRemovals(deps.db);
      if (args.json) ctx.io.out(json(removals));
      else
        ctx.io.out(
          table(
            ["principal", "role", "scope", "kind", "removed by", "on", "reason"],
            removals.map((r) => [
              r.principal,
              r.role,
              r.scope,
              r.kind,
              `${r.removedBy} ${r.by}`,
              r.removedAt,
              r.reason,
            ]),
          ),
        );
      return EXIT.ok;
    }
    const listed = await listAllAssignments(deps, actor, {
      principal: text(args.values, "principal"),
      role: text(args.values, "role"),
    });
    if (!listed.ok) return refused(ctx, args, listed.error);
    if (args.json) ctx.io.out(json(listed.value));
    else
      ctx.io.out(
        table(
          ["id", "principal", "role", "scope", "kind", "start", "end", "source", "in force"],
          listed.value.map((a) => [
            a.id,
            `${a.principal.key}${a.principal.kind === "group" ? " (group)" : ""}`,
            a.role.key,
            a.scope,
            a.kind,
            a.startsAt,
            a.endsAt ?? "permanent",
            a.source,
            a.inForce ? "yes" : "no",
          ]),
        ),
      );
    return EXIT.ok;
  },
};

export const assignmentsAdd: Command = {
  name: "assignments add",
  synopsis:
    "<principal> <role> --kind eligible|active [--scope PATH] [--start ISO] [--end ISO | --for 30d] [--justification TEXT]",
  summary: "assign a user or group to a role under the role's assignment rules",
  options: {
    kind: { type: "string" },
    scope: { type: "string" },
    start: { type: "string" },
    end: { type: "string" },
    for: { type: "string" },
    justification: { type: "string" },
  },
  positionals: { min: 2, max: 2 },
  async run(args, ctx) {
    const kind = oneOf(args.values, "kind", KINDS);
    if (!kind) throw new UsageError("--kind eligible|active is required");
    const startsAt = date(args.values, "start") ?? null;
    const endsAt = endFrom(args.values, startsAt);
    const { deps, actor } = await ctx.session();
    const input: AssignInput = {
      principal: args.positionals[0]!,
      role: args.positionals[1]!,
      scope: text(args.values, "scope") ?? null,
      kind,
      startsAt,
      endsAt,
      justification: text(args.values, "justification") ?? null,
    };
    const done = await assignRole(deps, actor, input);
    if (!done.ok) return refused(ctx, args, done.error);
    if (done.value.status !== "assigned") return EXIT.failure; // the operator is never asked for a step-up
    const a = done.value.assignment;
    if (args.json) ctx.io.out(json({ ok: true, assignment: a }));
    else
      ctx.io.out(
        `Assigned ${a.principalKey} ${a.kind} for ${a.roleKey} at ${a.scope}, ${a.endsAt ? `until ${a.endsAt.toISOString()}` : "permanently"} (${a.id}).`,
      );
    return EXIT.ok;
  },
};

export const assignmentsRemove: Command = {
  name: "assignments remove",
  synopsis: "<assignment-id> --reason TEXT",
  summary: "remove an assignment; a declared one stays removed until restored",
  options: { reason: { type: "string" } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const reason = text(args.values, "reason");
    if (!reason) throw new UsageError("--reason is required");
    const { deps, actor } = await ctx.session();
    const done = await removeAssignment(deps, actor, args.positionals[0]!, reason);
    if (!done.ok) return refused(ctx, args, done.error);
    const a = done.value;
    if (args.json) ctx.io.out(json({ ok: true, assignment: a }));
    else
      ctx.io.out(
        `Removed ${a.principalKey} ${a.kind} for ${a.roleKey} at ${a.scope}.${a.source === "file" ? " It is declared in the policy file and stays removed: `pim assignments restore` lifts that." : ""}`,
      );
    return EXIT.ok;
  },
};

export const assignmentsExtend: Command = {
  name: "assignments extend",
  synopsis: "<assignment-id> (--end ISO | --for 30d | --permanent) --reason TEXT",
  summary: "change when an assignment ends, under the role's rules",
  options: {
    end: { type: "string" },
    for: { type: "string" },
    permanent: { type: "boolean" },
    reason: { type: "string" },
  },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const reason = text(args.values, "reason");
    if (!reason) throw new UsageError("--reason is required");
    const permanent = args.values.permanent === true;
    const endsAt = permanent ? null : endFrom(args.values, null);
    if (!permanent && endsAt === null) throw new UsageError("give the new end: --end ISO, --for 30d or --permanent");
    const { deps, actor } = await ctx.session();
    const done = await changeAssignmentEnd(deps, actor, args.positionals[0]!, endsAt, reason);
    if (!done.ok) return refused(ctx, args, done.error);
    if (args.json) ctx.io.out(json({ ok: true, assignment: done.value }));
    else ctx.io.out(`${done.value.id} now ends ${done.value.endsAt ? done.value.endsAt.toISOString() : "never"}.`);
    return EXIT.ok;
  },
};

export const assignmentsRestore: Command = {
  name: "assignments restore",
  synopsis: "<principal> <role> [--scope PATH] [--kind eligible|active]",
  summary: "let the next apply restore a declared assignment a review or an administrator removed",
  options: { scope: { type: "string" }, kind: { type: "string" } },
  positionals: { min: 2, max: 2 },
  async run(args, ctx) {
    const kind = oneOf(args.values, "kind", KINDS) ?? "eligible";
    const { deps, actor } = await ctx.session();
    const target = {
      principal: args.positionals[0]!,
      role: args.positionals[1]!,
      scope: text(args.values, "scope") ?? "/",
      kind,
    };
    const done = await allowRestore(deps, actor, target);
    if (!done.ok) return refused(ctx, args, done.error);
    if (args.json) ctx.io.out(json({ ok: true, restored: target }));
    else
      ctx.io.out(
        `The next \`pim apply\` (or start) restores ${target.principal} ${kind} for ${target.role} at ${target.scope}.`,
      );
    return EXIT.ok;
  },
};

function endFrom(values: Record<string, unknown>, startsAt: Date | null): Date | null {
  const end = date(values as never, "end");
  const span = duration(values as never, "for");
  if (end && span !== undefined) throw new UsageError("give --end or --for, not both");
  if (end) return end;
  if (span !== undefined) return new Date((startsAt ?? new Date()).getTime() + span);
  return null;
}
