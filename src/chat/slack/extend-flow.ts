import type { App, webApi } from "@slack/bolt";
import { requestExtension } from "../../app/extend-activation.js";
import { getActivation } from "../../db/repos/activations.js";
import { rolesByIds } from "../../db/repos/directory.js";
import { FIELDS, FORMS } from "../views/action-ids.js";
import { durationChoices, fieldForRefusal } from "../views/request-form.js";
import type { Principal, SlackContext } from "./context.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { extendModal, readRequestForm } from "./modals.js";

/** Opens the extension form for one of my active roles; returns why not, when it cannot. */
export async function openExtendForm(
  ctx: SlackContext,
  client: webApi.WebClient,
  triggerId: string,
  me: Principal,
  activationId: string,
): Promise<string | null> {
  const a = await getActivation(ctx.deps.db, activationId);
  if (!a || a.principalId !== me.id) return "You can only extend your own activations.";
  if (a.status !== "active") return "Only an active role can be extended; request it again instead.";
  const role = (await rolesByIds(ctx.deps.db, [a.roleId])).get(a.roleId)!;
  const choices = durationChoices(role.policy.activation.maxDurationMs);
  await client.views.open({
    trigger_id: triggerId,
    view: extendModal(a.id, role.name, choices, a.justification),
  });
  return null;
}

export function registerExtendForm(app: App, ctx: SlackContext): void {
  app.view(FORMS.extend, async ({ ack, body, view }) => {
    const me = await ctx.identity.resolve(body.user.id);
    if (!me) {
      await ctx.identity.recordUnknown(body.user.id, "extend form submission");
      return ack({ response_action: "errors", errors: { [FIELDS.duration]: UNKNOWN_USER_TEXT } });
    }
    const form = readRequestForm(view.state.values);
    if (!form.durationMs) return ack({ response_action: "errors", errors: { [FIELDS.duration]: "Pick how long." } });
    const outcome = await requestExtension(ctx.deps, {
      activationId: view.private_metadata,
      userId: me.id,
      durationMs: form.durationMs,
      justification: form.justification,
      origin: "slack",
    });
    if (!outcome.ok) {
      const field = fieldForRefusal(outcome.error.code) === "justification" ? FIELDS.justification : FIELDS.duration;
      return ack({ response_action: "errors", errors: { [field]: outcome.error.message } });
    }
    await ack();
  });
}
