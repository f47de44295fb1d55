/**
 * People using a running bot process through Teams, as Teams would deliver their messages and
 * clicks (TEAMS_AUTH=off: no tokens), with the Bot Connector stood in locally. Each person asks
 * for a role with the request form, waits for the grant and ends it with "End now": one full
 * activation lifecycle through the real HTTP endpoint.
 */
import { FORMS } from "../../src/chat/views/action-ids.js";
import { BotConnectorStandIn, type StoredActivity } from "../support/teams/connector.js";
import { cardOf, type ReadCard, readCard } from "../support/teams/read-card.js";
import { type Sent, TeamsSender, type TeamsUser } from "../support/teams/teams-sender.js";

type Json = Record<string, unknown>;

const guid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;

export function teamsPerson(i: number): TeamsUser {
  return { key: `u${i}`, id: `29:u${i}`, name: `User ${i}`, aadObjectId: guid(i) };
}

/** A policy with `count` people on Teams, each eligible for `ops` with no approval, MFA or ticket. */
export function selfServicePolicy(count: number): string {
  const users = Array.from({ length: count }, (_, i) => {
    const p = teamsPerson(i);
    return `  - { key: ${p.key}, name: ${p.name}, email: ${p.key}@example.com, teamsId: ${p.aadObjectId} }`;
  });
  return `version: 1
users:
${users.join("\n")}
groups:
  - { key: everyone, name: Everyone, members: [${Array.from({ length: count }, (_, i) => `u${i}`).join(", ")}] }
defaults:
  activation: { maxDuration: 8h, requireMfa: false, requireJustification: false, requireApproval: false }
roles:
  - { key: ops, name: Operations, connector: { type: log } }
assignments:
  - { principal: everyone, role: ops, kind: eligible }
`;
}

export class TeamsClient {
  private constructor(
    readonly connector: BotConnectorStandIn,
    readonly sender: TeamsSender,
  ) {}

  static async start(botBaseUrl: string): Promise<TeamsClient> {
    const connector = await new BotConnectorStandIn().start();
    return new TeamsClient(connector, new TeamsSender(`${botBaseUrl}/api/messages`, connector));
  }

  stop(): Promise<void> {
    return this.connector.stop();
  }

  /**
   * Opens the request form for `role` and submits it; resolves with the card the bot answered
   * and the request card it posts next, which it keeps up to date.
   */
  async request(user: TeamsUser, role: string): Promise<{ answer: ReadCard; requestCard: () => StoredActivity }> {
    const where = this.sender.personal(user);
    const before = this.connector.inConversation(where.conversationId).length;
    ok(await this.sender.message(user, `elevate ${role}`), `"elevate ${role}"`);
    const form = this.connector
      .inConversation(where.conversationId)
      .slice(before)
      .find((m) => readCard(cardOf(m.activity) ?? {}).inputs.some((i) => i.id === "roles"));
    if (!form) throw new Error(`no request form for ${user.key}`);
    const card = cardOf(form.activity)!;
    const inputs: Json = {};
    for (const input of readCard(card).inputs) if (input.value !== undefined) inputs[input.id] = input.value;
    const button = readCard(card).buttons.find((b) => b.verb === FORMS.request);
    if (!button) throw new Error("the form has no Request button");
    const sent = ok(
      await this.sender.click(user, where, form.id, FORMS.request, {
        ...inputs,
        justification: "footprint",
        ...button.data,
      }),
      "the Request click",
    );
    const requestCard = () => {
      const posted = this.connector.inConversation(where.conversationId);
      const next = posted.slice(posted.indexOf(form) + 1).find((m) => cardOf(m.activity) !== undefined);
      if (!next) throw new Error(`no request card for ${user.key}`);
      return next;
    };
    return { answer: readCard(answered(sent)), requestCard };
  }

  /** Waits until the request card offers "End now": the grant is confirmed. */
  async untilActive(user: TeamsUser, requestCard: () => StoredActivity, withinMs = 60_000): Promise<ReadCard> {
    const until = Date.now() + withinMs;
    for (;;) {
      const read = (() => {
        try {
          return readCard(cardOf(requestCard().activity)!);
        } catch {
          return undefined;
        }
      })();
      if (read?.buttons.some((b) => b.label === "End now")) return read;
      if (Date.now() > until) throw new Error(`${user.key}'s role was not granted within ${withinMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Clicks "End now" on the request card; resolves with the card the bot answered. */
  async endNow(user: TeamsUser, requestCard: () => StoredActivity): Promise<ReadCard> {
    const message = requestCard();
    const button = readCard(cardOf(message.activity)!).buttons.find((b) => b.label === "End now");
    if (!button?.verb) throw new Error(`${user.key}'s card has no "End now" button`);
    const where = this.sender.personal(user);
    const sent = ok(await this.sender.click(user, where, message.id, button.verb, button.data), "the End now click");
    return readCard(answered(sent));
  }

  /** Waits until the request card says the role was revoked. */
  async untilEnded(user: TeamsUser, requestCard: () => StoredActivity, withinMs = 60_000): Promise<ReadCard> {
    const until = Date.now() + withinMs;
    for (;;) {
      const read = readCard(cardOf(requestCard().activity)!);
      if (read.text.startsWith("Ended")) return read;
      if (Date.now() > until) throw new Error(`${user.key}'s role was not revoked within ${withinMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Request → granted → End now → revoked. */
  async lifecycle(user: TeamsUser, role: string): Promise<void> {
    const { requestCard } = await this.request(user, role);
    await this.untilActive(user, requestCard);
    await this.endNow(user, requestCard);
    await this.untilEnded(user, requestCard);
  }
}

function ok(sent: Sent, what: string): Sent {
  if (sent.status !== 200) throw new Error(`${what} answered ${sent.status}: ${sent.text}`);
  return sent;
}

function answered(sent: Sent): Json {
  const body = sent.json ?? {};
  if (body.type !== "application/vnd.microsoft.card.adaptive") throw new Error(`no card in the answer: ${sent.text}`);
  return body.value as Json;
}
