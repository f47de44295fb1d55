import { inviteToEnroll, resetMfa } from "../../mfa/admin.js";
import { rekeyTotpSecrets } from "../../mfa/rekey.js";
import { SecretBox } from "../../mfa/secret-box.js";
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

export const mfaRekey: Command = {
  name: "mfa rekey",
  synopsis: "",
  summary: "seal every authenticator secret with the first key of PIM_ENCRYPTION_KEY (a key rotation)",
  options: {},
  positionals: { min: 0, max: 0 },
  async run(args, ctx) {
    const key = ctx.settings.env.PIM_ENCRYPTION_KEY;
    if (!key) {
      ctx.io.err("pim mfa rekey: PIM_ENCRYPTION_KEY is not set: set it to the new key, a comma, and the old key");
      return EXIT.failure;
    }
    const { deps } = await ctx.session();
    const r = await rekeyTotpSecrets(deps, SecretBox.fromBase64(key), `cli:${ctx.settings.operator}`);
    if (args.json) ctx.io.out(json({ ok: r.unreadable.length === 0, ...r }));
    else {
      ctx.io.out(
        `${r.rekeyed} of ${r.total} authenticator secrets sealed again with the first key; the others had it already.`,
      );
      if (r.unreadable.length > 0)
        ctx.io.err(
          `${r.unreadable.length} could not be opened with any key of PIM_ENCRYPTION_KEY (${r.unreadable.join(", ")}): add the key they were sealed with, or reset those people's factors (pim mfa reset <person> --factors) so they set up again.`,
        );
    }
    return r.unreadable.length === 0 ? EXIT.ok : EXIT.failure;
  },
};
