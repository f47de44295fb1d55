import {
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  TeamsActivityHandler,
  type TurnContext,
} from "botbuilder";
import { helpCard } from "../views/help.js";
import { onCardAction } from "./actions.js";
import { onCommand } from "./commands.js";
import type { Principal, TeamsContext } from "./context.js";
import { replyCard } from "./reply.js";

const isPersonal = (turn: TurnContext) =>
  (turn.activity.conversation?.conversationType ?? "personal") === "personal" && !turn.activity.conversation?.isGroup;

/**
 * The Teams bot: messages are commands, card clicks are Universal Actions, and every activity
 * (installs and member changes included) refreshes the stored conversation reference, so the
 * bot can later reach the person or channel on its own.
 */
export class PimTeamsBot extends TeamsActivityHandler {
  constructor(private readonly ctx: TeamsContext) {
    super();
    this.onMessage(async (turn, next) => {
      const { me } = await this.seen(turn);
      await onCommand(ctx, turn, me);
      await next();
    });
    this.onConversationUpdate(async (turn, next) => {
      const { isNew } = await this.seen(turn);
      const botAdded = (turn.activity.membersAdded ?? []).some((m) => m.id === turn.activity.recipient?.id);
      if (botAdded && isNew) await this.welcome(turn);
      await next();
    });
    this.onInstallationUpdate(async (turn, next) => {
      const { isNew } = await this.seen(turn);
      if (turn.activity.action === "add" && isNew) await this.welcome(turn);
      await next();
    });
  }

  /** Activities from other tenants or channels stop here, before any lookup or stored reference. */
  override async run(turn: TurnContext): Promise<void> {
    if (await this.ctx.identity.admits(turn)) await super.run(turn);
  }

  /** Teams repeats install events (the playground on every page load): a chat is greeted once, when first seen. */
  private async welcome(turn: TurnContext): Promise<void> {
    if (!isPersonal(turn)) return;
    await replyCard(
      turn,
      helpCard(
        this.ctx.command,
        "Hello! I give privileged roles for a while, when you need them and with approval where the policy asks.",
      ),
      "help",
    );
  }

  protected override async onAdaptiveCardInvoke(
    turn: TurnContext,
    invoke: AdaptiveCardInvokeValue,
  ): Promise<AdaptiveCardInvokeResponse> {
    // Who clicked is looked up by the flow, so a database outage at that moment is tried again too.
    return onCardAction(this.ctx, turn, invoke, async () => (await this.seen(turn)).me);
  }

  /** Who sent the activity (undefined: not in pim.yaml), after storing where the conversation is (known senders only). */
  private async seen(turn: TurnContext): Promise<{ me: Principal | undefined; isNew: boolean }> {
    const me = turn.activity.from?.id ? await this.ctx.identity.resolve(turn) : undefined;
    const isNew = me ? await this.ctx.conversations.remember(turn.activity, me.id) : false;
    return { me, isNew };
  }
}
