import { inviteToEnroll, resetMfa } from "../../mfa/admin.js";
import { enrollmentOf } from "../../mfa/service.js";
import { type Command, refused } from "../command.js";
import { EXIT, json } from "../output.js";

export const mfaInvite: Command = {
  name: "mfa invite",
  synopsis: "<person>",
  summary: "an enrollment link whose factor counts at once; hand it over yourself, not in chat",
  options: {},
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const { deps } = await ctx.session();
    const env = ctx.settings.env;
    const settings = { deps, publicUrl: new URL(env.PUBLIC_URL), enrollment: enrollmentOf(env) };
    const invited = await inviteToEnroll(settings, {
      personKey: args.positionals[0]!,
      by: `cli:${ctx.settings.operator}`,
    });
    if (!invited.ok) return refused(ctx, args, invited.error);
    const { link, expiresAt } = invited.value;
    if (args.json) ctx.io.out(json({ ok: true, link, expiresAt }));
    else
      ctx.io.out(
        `Invitation for ${args.positionals[0]}, valid until ${expiresAt.toISOString()}. Give it to them yourself, not through chat:\n${link}`,
      );
    return EXIT.ok;
  },
};

export const mfaReset: Command = {
  name: "mfa reset",
  synopsis: "<person> [--factors]",
  summary: "lift a person's MFA lockout and forget their failures (--factors: also remove every factor)",
  options: { factors: { type: "boolean" } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const { deps } = await ctx.session();
    const personKey = args.positionals[0]!;
    const factors = args.values.factors === true;
    const reset = await resetMfa(deps, { personKey, by: `cli:${ctx.settings.operator}`, factors });
    if (!reset.ok) return refused(ctx, args, reset.error);
    const r = reset.value;
    if (args.json) ctx.io.out(json({ ok: true, ...r }));
    else
      ctx.io.out(
        `${personKey}: ${r.lockout ? "lockout lifted" : "no lockout in force"}, ${r.failures} failures forgotten${factors ? `, ${r.factorsRemoved} factors removed (invite them to set up a new one)` : ""}.`,
      );
    return EXIT.ok;
  },
};
