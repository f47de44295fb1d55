/**
 * A local stand-in for the Slack Web API (SLACK_API_URL → http://127.0.0.1:<port>/api/). It
 * records every call and answers the way Slack does where it matters to pim-bot: tokens, trigger
 * ids that work once within 3 seconds, Block Kit limits (`invalid_blocks`), rate limits (429 with
 * Retry-After), message timestamps, DMs, views with hashes, and response_url posts.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { checkMessage, checkView } from "./block-limits.js";

type Json = Record<string, unknown>;

export interface SlackUser {
  id: string;
  name: string;
  email: string | null;
  /** Slack's is_email_confirmed; null leaves the field out, as Slack does for some accounts. Default true. */
  emailConfirmed?: boolean | null;
  isBot?: boolean;
  /** The Enterprise Grid organization the user belongs to (users.info's enterprise_user). */
  enterpriseId?: string;
}

export interface ApiCall {
  method: string;
  args: Json;
  at: number;
  response: Json;
  status: number;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: Json[];
  /** Every version, oldest first: chat.update keeps the history for tests. */
  versions: { text: string; blocks: Json[] }[];
}

export interface Ephemeral {
  channel: string | null;
  user: string;
  text: string;
  blocks: Json[];
  via: "chat.postEphemeral" | "response_url";
}

/** A file uploaded through files.getUploadURLExternal, the upload URL and files.completeUploadExternal. */
export interface UploadedFile {
  id: string;
  filename: string;
  /** The length files.getUploadURLExternal was told. */
  length: number;
  /** The bytes posted to the upload URL; null until then. */
  bytes: Buffer | null;
  /** Set by files.completeUploadExternal: where it was shared, with what title and comment. */
  channel: string | null;
  title: string | null;
  initialComment: string | null;
}

export interface StoredView {
  id: string;
  user: string;
  hash: string;
  view: Json;
  /** When a modal was replaced by views.update, older versions are kept for tests. */
  versions: Json[];
}

const TRIGGER_TTL_MS = 3_000;
export const BOT_TOKEN = "xoxb-test-0000-pim-bot";
export const BOT_USER = "U0PIMBOT";

export class SlackApiStandIn {
  readonly calls: ApiCall[] = [];
  /** Block Kit payloads Slack would have refused: every test expects this to stay empty. */
  readonly violations: { method: string; problems: string[] }[] = [];
  readonly messages: StoredMessage[] = [];
  readonly ephemerals: Ephemeral[] = [];
  readonly views = new Map<string, StoredView>();
  readonly homes = new Map<string, Json>();
  /** Files by id, from the moment an upload URL was asked for. */
  readonly files = new Map<string, UploadedFile>();
  private readonly users = new Map<string, SlackUser>();
  private readonly triggers = new Map<string, { user: string; mintedAt: number; used: boolean }>();
  private readonly responseUrls = new Map<string, { user: string; channel: string | null }>();
  private readonly rateLimits = new Map<string, { retryAfter: number; times: number }>();
  private readonly serverErrors = new Map<string, { status: number; times: number }>();
  private readonly refusals = new Map<string, { error: string; times: number }>();
  private server: Server | undefined;
  private seq = 0;
  baseUrl = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  addUser(user: SlackUser): void {
    this.users.set(user.id, user);
  }

  userName(id: string): string | undefined {
    return this.users.get(id)?.name;
  }

  /** What Slack does when someone runs a command or clicks: a fresh trigger id for that user. */
  mintTrigger(user: string, ageMs = 0): string {
    const id = `${Date.now()}.${++this.seq}.${randomBytes(8).toString("hex")}`;
    this.triggers.set(id, { user, mintedAt: Date.now() - ageMs, used: false });
    return id;
  }

  responseUrl(user: string, channel: string | null): string {
    const id = randomBytes(8).toString("hex");
    this.responseUrls.set(id, { user, channel });
    return `${this.baseUrl}/response/${id}`;
  }

  /** The next `times` calls of a method are answered 429 with Retry-After. */
  rateLimit(method: string, retryAfterSeconds: number, times = 1): void {
    this.rateLimits.set(method, { retryAfter: retryAfterSeconds, times });
  }

  /** The next `times` calls of a method are answered with a server error (Slack having a bad moment). */
  serverError(method: string, status: 500 | 502 | 503, times = 1): void {
    this.serverErrors.set(method, { status, times });
  }

  /** The next `times` calls of a method are answered `{ ok: false, error }` (a scope the app lacks: `missing_scope`). */
  refuse(method: string, error: string, times = 1): void {
    this.refusals.set(method, { error, times });
  }

  dmChannel(user: string): string {
    return `D${user.slice(1)}`;
  }

  messagesIn(channel: string): StoredMessage[] {
    return this.messages.filter((m) => m.channel === channel);
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  ephemeralsFor(user: string): Ephemeral[] {
    return this.ephemerals.filter((e) => e.user === user);
  }

  /** The modal a user has open now (the latest opened). */
  openModal(user: string): StoredView | undefined {
    return [...this.views.values()].filter((v) => v.user === user).at(-1);
  }

  /** Files shared in a channel (a DM is `dmChannel(user)`), oldest first. */
  filesIn(channel: string): UploadedFile[] {
    return [...this.files.values()].filter((f) => f.channel === channel);
  }

  callsOf(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.baseUrl);
    const bytes = await readAll(req);
    const raw = bytes.toString("utf8");
    if (url.pathname.startsWith("/response/")) return this.responsePost(url.pathname.slice(10), raw, res);
    if (url.pathname.startsWith("/upload/"))
      return this.uploadPost(url.pathname.slice(8), req.headers["content-type"] ?? "", bytes, res);
    if (!url.pathname.startsWith("/api/")) return send(res, 404, { ok: false, error: "unknown_method" });
    const method = url.pathname.slice(5);
    const args = parseArgs(req.headers["content-type"] ?? "", raw);
    const limited = this.rateLimits.get(method);
    if (limited && limited.times > 0) {
      limited.times--;
      const response = { ok: false, error: "ratelimited" };
      this.calls.push({ method, args, at: Date.now(), response, status: 429 });
      res.writeHead(429, { "content-type": "application/json", "retry-after": String(limited.retryAfter) });
      res.end(JSON.stringify(response));
      return;
    }
    const failing = this.serverErrors.get(method);
    if (failing && failing.times > 0) {
      failing.times--;
      this.calls.push({ method, args, at: Date.now(), response: {}, status: failing.status });
      res.writeHead(failing.status, { "content-type": "text/html" });
      res.end("<html>upstream error</html>");
      return;
    }
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "") || String(args.token ?? "");
    const refusal = this.refusals.get(method);
    let refused: Json | null = null;
    if (refusal && refusal.times > 0) {
      refusal.times--;
      refused = { ok: false, error: refusal.error };
    }
    const response =
      token !== BOT_TOKEN ? { ok: false, error: "invalid_auth" } : (refused ?? this.answer(method, args));
    this.calls.push({ method, args, at: Date.now(), response, status: 200 });
    send(res, 200, response);
  }

  private answer(method: string, args: Json): Json {
    switch (method) {
      case "auth.test":
        return {
          ok: true,
          url: "https://pim-test.slack.com/",
          team: "PIM Test",
          user: "pim",
          team_id: "T0PIM",
          user_id: BOT_USER,
          bot_id: "B0PIMBOT",
        };
      case "conversations.open": {
        const user = String(args.users ?? "").split(",")[0] ?? "";
        if (!this.users.has(user)) return { ok: false, error: "user_not_found" };
        return { ok: true, channel: { id: this.dmChannel(user) } };
      }
      case "users.info": {
        const user = this.users.get(String(args.user));
        if (!user) return { ok: false, error: "user_not_found" };
        return {
          ok: true,
          user: {
            id: user.id,
            name: user.name,
            is_bot: user.isBot ?? false,
            deleted: false,
            ...(user.emailConfirmed === null ? {} : { is_email_confirmed: user.emailConfirmed ?? true }),
            profile: { real_name: user.name, ...(user.email ? { email: user.email } : {}) },
            ...(user.enterpriseId ? { enterprise_user: { enterprise_id: user.enterpriseId } } : {}),
          },
        };
      }
      case "users.lookupByEmail": {
        const user = [...this.users.values()].find((u) => u.email?.toLowerCase() === String(args.email).toLowerCase());
        return user ? { ok: true, user: { id: user.id, name: user.name } } : { ok: false, error: "users_not_found" };
      }
      case "chat.postMessage":
        return this.postMessage(args);
      case "chat.update":
        return this.updateMessage(args);
      case "chat.postEphemeral": {
        const problems = checkMessage(args);
        if (problems.length > 0) return this.invalidBlocks(method, problems);
        this.ephemerals.push({
          channel: String(args.channel),
          user: String(args.user),
          text: String(args.text ?? ""),
          blocks: (args.blocks as Json[]) ?? [],
          via: "chat.postEphemeral",
        });
        return { ok: true, message_ts: this.nextTs() };
      }
      case "files.getUploadURLExternal": {
        const length = Number(args.length);
        if (!args.filename) return { ok: false, error: "invalid_arguments" };
        if (!Number.isSafeInteger(length) || length <= 0) return { ok: false, error: "invalid_arguments" };
        const id = `F${++this.seq}`;
        this.files.set(id, {
          id,
          filename: String(args.filename),
          length,
          bytes: null,
          channel: null,
          title: null,
          initialComment: null,
        });
        return { ok: true, upload_url: `${this.baseUrl}/upload/${id}`, file_id: id };
      }
      case "files.completeUploadExternal":
        return this.completeUpload(args);
      case "views.open":
        return this.openView(args);
      case "views.update":
        return this.updateView(args);
      case "views.publish": {
        const problems = checkView(args.view);
        if (problems.length > 0) return this.invalidArguments(method, problems);
        this.homes.set(String(args.user_id), args.view as Json);
        return { ok: true, view: { id: `VH${String(args.user_id)}`, hash: this.nextHash() } };
      }
      default:
        return { ok: false, error: "unknown_method" };
    }
  }

  private postMessage(args: Json): Json {
    const problems = checkMessage(args);
    if (problems.length > 0) return this.invalidBlocks("chat.postMessage", problems);
    const channel = String(args.channel ?? "");
    if (!/^[CDG]/.test(channel)) return { ok: false, error: "channel_not_found" };
    const message: StoredMessage = {
      channel,
      ts: this.nextTs(),
      text: String(args.text ?? ""),
      blocks: (args.blocks as Json[]) ?? [],
      versions: [],
    };
    message.versions.push({ text: message.text, blocks: message.blocks });
    this.messages.push(message);
    return { ok: true, channel, ts: message.ts, message: { text: message.text, blocks: message.blocks } };
  }

  /** The upload URL: the bytes, raw or as the one file of a multipart form (as the WebClient sends them). */
  private async uploadPost(id: string, contentType: string, body: Buffer, res: ServerResponse): Promise<void> {
    const file = this.files.get(id);
    if (!file || file.bytes !== null) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    let bytes = body;
    if (contentType.startsWith("multipart/form-data")) {
      const form = await new Response(new Uint8Array(body), { headers: { "content-type": contentType } }).formData();
      const part = [...form.values()].find((v) => typeof v !== "string");
      bytes = part && typeof part !== "string" ? Buffer.from(await part.arrayBuffer()) : Buffer.alloc(0);
    }
    this.calls.push({
      method: "upload",
      args: { file_id: id, bytes: bytes.length },
      at: Date.now(),
      response: {},
      status: 200,
    });
    if (bytes.length !== file.length) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(`expected ${file.length} bytes, got ${bytes.length}`);
      return;
    }
    file.bytes = bytes;
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`OK - ${bytes.length}`);
  }

  /** Shares uploaded files in a channel: each one must have been uploaded in full first. */
  private completeUpload(args: Json): Json {
    const listed = typeof args.files === "string" ? (JSON.parse(args.files) as Json[]) : ((args.files as Json[]) ?? []);
    if (listed.length === 0) return { ok: false, error: "invalid_arguments" };
    const files = listed.map((f) => this.files.get(String(f.id)));
    if (files.some((f) => !f?.bytes)) return { ok: false, error: "file_not_found" };
    const channel = args.channel_id === undefined ? null : String(args.channel_id);
    if (channel !== null && !/^[CDG]/.test(channel)) return { ok: false, error: "channel_not_found" };
    listed.forEach((f, i) => {
      const file = files[i]!;
      file.channel = channel;
      file.title = f.title === undefined ? file.filename : String(f.title);
      file.initialComment = args.initial_comment === undefined ? null : String(args.initial_comment);
    });
    if (channel !== null) {
      // Slack shows the share as a message in the channel.
      const text = String(args.initial_comment ?? "");
      const message: StoredMessage = { channel, ts: this.nextTs(), text, blocks: [], versions: [] };
      message.versions.push({ text, blocks: [] });
      this.messages.push(message);
    }
    return { ok: true, files: files.map((f) => ({ id: f!.id, title: f!.title })) };
  }

  private updateMessage(args: Json): Json {
    const message = this.message(String(args.channel), String(args.ts));
    if (!message) return { ok: false, error: "message_not_found" };
    const problems = checkMessage(args);
    if (problems.length > 0) return this.invalidBlocks("chat.update", problems);
    message.text = String(args.text ?? "");
    message.blocks = (args.blocks as Json[]) ?? [];
    message.versions.push({ text: message.text, blocks: message.blocks });
    return { ok: true, channel: message.channel, ts: message.ts, text: message.text };
  }

  private openView(args: Json): Json {
    const trigger = this.triggers.get(String(args.trigger_id ?? ""));
    if (!trigger) return { ok: false, error: "invalid_trigger_id" };
    if (trigger.used) return { ok: false, error: "exchanged_trigger_id" };
    if (Date.now() - trigger.mintedAt > TRIGGER_TTL_MS) return { ok: false, error: "expired_trigger_id" };
    trigger.used = true;
    const problems = checkView(args.view);
    if (problems.length > 0) return this.invalidArguments("views.open", problems);
    const stored: StoredView = {
      id: `V${++this.seq}`,
      user: trigger.user,
      hash: this.nextHash(),
      view: args.view as Json,
      versions: [],
    };
    this.views.set(stored.id, stored);
    return { ok: true, view: { ...stored.view, id: stored.id, hash: stored.hash } };
  }

  private updateView(args: Json): Json {
    const stored = this.views.get(String(args.view_id ?? ""));
    if (!stored) return { ok: false, error: "not_found" };
    if (args.hash !== undefined && args.hash !== stored.hash) return { ok: false, error: "hash_conflict" };
    const problems = checkView(args.view);
    if (problems.length > 0) return this.invalidArguments("views.update", problems);
    stored.versions.push(stored.view);
    stored.view = args.view as Json;
    stored.hash = this.nextHash();
    return { ok: true, view: { ...stored.view, id: stored.id, hash: stored.hash } };
  }

  private responsePost(id: string, raw: string, res: ServerResponse): void {
    const target = this.responseUrls.get(id);
    if (!target) {
      send(res, 404, { ok: false, error: "expired_url" });
      return;
    }
    const body = JSON.parse(raw || "{}") as Json;
    const problems = checkMessage(body);
    this.calls.push({
      method: "response_url",
      args: body,
      at: Date.now(),
      response: { ok: problems.length === 0 },
      status: 200,
    });
    if (problems.length > 0) {
      this.violations.push({ method: "response_url", problems });
      send(res, 400, { ok: false, error: "invalid_blocks" });
      return;
    }
    this.ephemerals.push({
      channel: target.channel,
      user: target.user,
      text: String(body.text ?? ""),
      blocks: (body.blocks as Json[]) ?? [],
      via: "response_url",
    });
    send(res, 200, { ok: true });
  }

  private invalidBlocks(method: string, problems: string[]): Json {
    this.violations.push({ method, problems });
    return {
      ok: false,
      error: "invalid_blocks",
      errors: problems,
      response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) },
    };
  }

  /** views.* report bad blocks as invalid_arguments, with the same pointers. */
  private invalidArguments(method: string, problems: string[]): Json {
    this.violations.push({ method, problems });
    return {
      ok: false,
      error: "invalid_arguments",
      response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) },
    };
  }

  private nextTs(): string {
    return `${Math.floor(Date.now() / 1000)}.${String(++this.seq).padStart(6, "0")}`;
  }

  private nextHash(): string {
    return `${Date.now()}.${randomBytes(4).toString("hex")}`;
  }
}

const JSON_ARGS = new Set(["blocks", "view", "attachments", "metadata", "files"]);

function parseArgs(contentType: string, raw: string): Json {
  if (contentType.includes("application/json")) return raw ? (JSON.parse(raw) as Json) : {};
  const args: Json = {};
  for (const [key, value] of new URLSearchParams(raw)) args[key] = JSON_ARGS.has(key) ? JSON.parse(value) : value;
  return args;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}
