/**
 * People acting in Slack against a cluster: each action is one signed request to a replica, the
 * answers read back from the Slack Web API stand-in they all post to and from the database they
 * share. A request that gets no answer (its replica was killed) comes back as `undefined`, as a
 * person would see a spinner and then an error, and may try again.
 */
import type postgres from "postgres";
import { FIELDS, FORMS } from "../../../src/chat/views/action-ids.js";
import type { SlackApiStandIn, StoredMessage, StoredView } from "../../support/slack/slack-api.js";
import { type FieldValue, type Sent, SlackSender } from "../../support/slack/slack-sender.js";
import type { Cluster } from "./cluster.js";
import type { Person } from "./policy.js";

export interface ActivationRow {
  id: string;
  requestId: string;
  status: string;
}

/** Polls until `found` gives something, or gives undefined after `ms` (the caller decides what that means). */
export async function poll<T>(
  found: () => T | undefined | Promise<T | undefined>,
  ms: number,
  every = 25,
): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await found();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, every));
  }
}

export class SlackCrowd {
  private readonly senders = new Map<string, SlackSender>();
  /** Requests that got no answer at all, by what was tried. */
  readonly unanswered: Record<string, number> = {};

  constructor(
    readonly api: SlackApiStandIn,
    readonly cluster: Cluster,
    readonly sql: postgres.Sql,
  ) {}

  /** One signed request to a replica (the next one round-robin unless given); undefined if it got no answer. */
  async send(
    what: string,
    act: (sender: SlackSender) => Promise<Sent>,
    url = this.cluster.nextSlackUrl(),
  ): Promise<Sent | undefined> {
    let sender = this.senders.get(url);
    if (!sender) {
      sender = new SlackSender(url, this.api);
      this.senders.set(url, sender);
    }
    try {
      return await act(sender);
    } catch {
      this.unanswered[what] = (this.unanswered[what] ?? 0) + 1;
      return undefined;
    }
  }

  /** `/elevate <role>`: the request form with the role picked, once a replica has drawn it. */
  async openRequestForm(person: Person, role: string, withinMs = 8_000): Promise<StoredView | undefined> {
    const before = new Set([...this.api.views.values()].filter((v) => v.user === person.slackId).map((v) => v.id));
    const sent = await this.send("/elevate <role>", (s) => s.command(person.slackId, role));
    if (sent?.status !== 200) return undefined;
    return poll(
      () =>
        [...this.api.views.values()].find(
          (v) =>
            v.user === person.slackId &&
            !before.has(v.id) &&
            v.view.callback_id === FORMS.request &&
            // The form itself, not the "loading" modal it replaces.
            (v.view.blocks as { block_id?: string }[]).some((b) => b.block_id === FIELDS.roles),
        ),
      withinMs,
      100,
    );
  }

  /** Submits the request form as drawn (the role picked, the default duration) with a justification. */
  submitRequest(person: Person, form: StoredView, justification: string): Promise<Sent | undefined> {
    const values: Record<string, FieldValue> = { justification };
    return this.send("request form submission", (s) => s.submit(person.slackId, form, values));
  }

  /** The person's newest activation, if they have one. */
  async latestActivation(person: Person): Promise<ActivationRow | undefined> {
    const [row] = await this.sql<ActivationRow[]>`
      select a.id, a.request_id as "requestId", a.status
      from activations a join principals p on p.id = a.principal_id
      where p.key = ${person.key}
      order by a.requested_at desc limit 1`;
    return row;
  }

  async activation(id: string): Promise<ActivationRow | undefined> {
    const [row] = await this.sql<ActivationRow[]>`
      select id, request_id as "requestId", status from activations where id = ${id}`;
    return row;
  }

  /** The approval card an approver was sent for a request, as the stand-in holds it now. */
  approverCard(requestId: string, approver: Person): StoredMessage | undefined {
    return this.api
      .messagesIn(this.api.dmChannel(approver.slackId))
      .find((m) =>
        m.blocks.some(
          (b) =>
            b.type === "actions" &&
            (b.elements as { action_id?: string; value?: string }[]).some(
              (e) => e.action_id?.startsWith("pim.approve") === true && e.value === requestId,
            ),
        ),
      );
  }

  /** An Approve click on a card, on a replica picked at random. */
  approve(approver: Person, card: StoredMessage, url = this.cluster.randomSlackUrl()): Promise<Sent | undefined> {
    return this.send("Approve click", (s) => s.clickInMessage(approver.slackId, card, "pim.approve"), url);
  }

  /**
   * `/elevate pending`, then Approve on the request in the list it answers with: how an approver
   * decides a request whose card never reached them.
   */
  async approveFromPendingList(approver: Person, requestId: string): Promise<Sent | undefined> {
    const seen = this.api.ephemeralsFor(approver.slackId).length;
    const sent = await this.send("/elevate pending", (s) => s.command(approver.slackId, "pending"));
    if (sent?.status !== 200) return undefined;
    const list = await poll(
      () =>
        this.api
          .ephemeralsFor(approver.slackId)
          .slice(seen)
          .find((e) => e.blocks.length > 0),
      5_000,
    );
    if (!list) return undefined;
    const listed = list.blocks.filter(
      (b) => b.type === "actions" && (b.elements as { value?: string }[]).some((e) => e.value === requestId),
    );
    if (listed.length === 0) return undefined;
    // Slack sends a click in an ephemeral message with that message's blocks and no timestamp of its own.
    const message: StoredMessage = {
      channel: this.api.dmChannel(approver.slackId),
      ts: "0",
      text: list.text,
      blocks: listed,
      versions: [],
    };
    return this.approve(approver, message);
  }

  /** `/elevate end <role>`: the requester ends their role early. */
  endRole(person: Person, role: string): Promise<Sent | undefined> {
    return this.send("/elevate end", (s) => s.command(person.slackId, `end ${role}`));
  }
}
