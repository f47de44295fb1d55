/**
 * A local stand-in for the Bot Framework Connector service that Teams activities name as their
 * `serviceUrl`. It answers the calls botbuilder makes the way the connector does (new messages,
 * replies, updates, new 1:1 chats, member lookups) and records them, so tests read back exactly
 * what the bot sent. Every Adaptive Card is checked with the real parser; anything Teams would
 * refuse is kept in `violations`, which every test expects to stay empty.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CARD_CONTENT_TYPE } from "../../../src/chat/teams/cards.js";
import { adaptiveCardProblems } from "./adaptive-card-check.js";

type Json = Record<string, unknown>;

/** Teams refuses a message activity bigger than this (about 28 KB, the documented limit). */
export const TEAMS_MESSAGE_LIMIT = 28 * 1024;

export interface TeamsMember {
  /** 29:… */
  id: string;
  name: string;
  aadObjectId: string;
  email: string | null;
  userPrincipalName: string | null;
}

export interface StoredActivity {
  conversationId: string;
  id: string;
  activity: Json;
  /** Every version, oldest first: updates keep the history for tests. */
  versions: Json[];
  replyToId: string | null;
}

export interface ConnectorCall {
  method: string;
  path: string;
  body: Json | null;
  authorization: string | undefined;
  /** Set when the stand-in refused the call (see refuseNext). */
  status?: number;
}

export class BotConnectorStandIn {
  readonly calls: ConnectorCall[] = [];
  readonly violations: { what: string; problems: string[] }[] = [];
  readonly messages: StoredActivity[] = [];
  /** Conversations the bot created, with the member it was created for. */
  readonly created: { conversationId: string; memberId: string; tenantId: string | null }[] = [];
  private readonly members = new Map<string, TeamsMember>();
  private readonly refusals: { status: 429 | 500 | 503; times: number; retryAfterSeconds?: number }[] = [];
  private server: Server | undefined;
  private seq = 0;
  serviceUrl = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    this.serviceUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  /**
   * The next `times` messages sent or updated are refused with `status` (429 throttled, with
   * Retry-After; 503 the service busy), as the Bot Connector does under load.
   */
  refuseNext(status: 429 | 500 | 503, times = 1, retryAfterSeconds?: number): void {
    this.refusals.push({ status, times, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) });
  }

  addMember(member: TeamsMember): void {
    this.members.set(member.id, member);
  }

  /** The conversation the bot opened for a member (by Entra object id or Teams id). */
  createdFor(memberId: string): string | undefined {
    return this.created.find((c) => c.memberId === memberId)?.conversationId;
  }

  message(conversationId: string, id: string): StoredActivity | undefined {
    return this.messages.find((m) => m.conversationId === conversationId && m.id === id);
  }

  inConversation(conversationId: string): StoredActivity[] {
    return this.messages.filter((m) => m.conversationId === conversationId);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://local");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const raw = await readAll(req);
    const body = raw ? (JSON.parse(raw) as Json) : null;
    this.calls.push({ method: req.method ?? "", path: url.pathname, body, authorization: req.headers.authorization });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    if (parts[0] !== "v3" || parts[1] !== "conversations") return send(404, { error: { code: "NotFound" } });
    const [, , conversationId, what, activityId, extra] = parts;
    const refusal =
      what === "activities" && (req.method === "POST" || req.method === "PUT") ? this.refusals[0] : undefined;
    if (refusal) {
      if (--refusal.times <= 0) this.refusals.shift();
      this.calls[this.calls.length - 1]!.status = refusal.status;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (refusal.retryAfterSeconds !== undefined) headers["retry-after"] = String(refusal.retryAfterSeconds);
      res.writeHead(refusal.status, headers);
      res.end(
        JSON.stringify({
          error: { code: refusal.status === 429 ? "Throttled" : "ServiceError", message: "try again" },
        }),
      );
      return;
    }

    if (req.method === "POST" && !conversationId) return send(201, this.createConversation(body ?? {}));
    if (!conversationId) return send(404, {});
    const base = conversationId.split(";")[0]!;

    if (req.method === "GET" && what === "members" && activityId) {
      const member = this.members.get(activityId);
      return member
        ? send(200, { ...member, tenantId: "0f0e0d0c-0b0a-4909-8807-060504030201", userRole: "user" })
        : send(404, { error: { code: "MemberNotFoundInConversation", message: "member not found" } });
    }
    if (req.method === "POST" && what === "activities" && !extra) {
      const refused = this.check(`POST ${base}`, body ?? {});
      if (refused) return send(refused.status, refused.body);
      const id = `m${++this.seq}`;
      this.messages.push({
        conversationId: base,
        id,
        activity: body ?? {},
        versions: [body ?? {}],
        replyToId: activityId ?? null,
      });
      return send(201, { id });
    }
    if (req.method === "PUT" && what === "activities" && activityId) {
      const stored = this.message(base, activityId);
      if (!stored) return send(404, { error: { code: "ActivityNotFoundInConversation" } });
      const refused = this.check(`PUT ${base}/${activityId}`, body ?? {});
      if (refused) return send(refused.status, refused.body);
      stored.activity = body ?? {};
      stored.versions.push(body ?? {});
      return send(200, { id: activityId });
    }
    return send(405, { error: { code: "BadSyntax", message: `${req.method} ${url.pathname}` } });
  }

  private createConversation(params: Json): Json {
    const member = ((params.members as Json[] | undefined) ?? [])[0];
    const memberId = String(member?.id ?? "");
    const tenantId = (params.tenantId as string | undefined) ?? null;
    const conversationId = `a:dm-${memberId}`;
    if (!this.created.some((c) => c.conversationId === conversationId))
      this.created.push({ conversationId, memberId, tenantId });
    return { id: conversationId, activityId: "", serviceUrl: this.serviceUrl };
  }

  /** Checks a card the bot answered an invoke with (it never passes through here, but Teams draws it all the same). */
  checkAnswer(what: string, card: Json): void {
    const problems = adaptiveCardProblems(card);
    if (problems.length > 0) this.violations.push({ what, problems });
  }

  /** Refuses what Teams refuses (oversized messages) and records cards the parser does not accept. */
  private check(what: string, activity: Json): { status: number; body: Json } | null {
    const size = Buffer.byteLength(JSON.stringify(activity), "utf8");
    if (size > TEAMS_MESSAGE_LIMIT) {
      this.violations.push({ what, problems: [`activity is ${size} bytes`] });
      return { status: 413, body: { error: { code: "MessageSizeTooBig", message: "Message size too big" } } };
    }
    for (const attachment of (activity.attachments as Json[] | undefined) ?? []) {
      if (attachment.contentType !== CARD_CONTENT_TYPE) continue;
      const problems = adaptiveCardProblems(attachment.content as Json);
      if (problems.length > 0) this.violations.push({ what, problems });
    }
    return null;
  }
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
