import type { CloudAdapter } from "botbuilder";
import type { HttpServer } from "../../http/server.js";
import { InFlight } from "../in-flight.js";
import { type ChatPlatform, type PlatformOptions, platformContext } from "../platform.js";
import { createTeamsAdapter, type TeamsAuthSettings } from "./adapter.js";
import { PimTeamsBot } from "./bot.js";
import type { TeamsContext } from "./context.js";
import { GLOBAL_SERVICE_URL, TeamsConversations } from "./conversations.js";
import { activityHandler } from "./http-shim.js";
import { TeamsIdentity } from "./identity.js";
import { TeamsSurface } from "./surface.js";

export interface TeamsPlatformOptions extends TeamsAuthSettings, PlatformOptions {
  /** Where new chats are created when no stored conversation tells the region. */
  defaultServiceUrl?: string;
  /** How long an address from the member list is trusted (default 10 minutes). */
  emailTtlMs?: number;
  /** The Entra tenants served; null or unset serves any (only without authentication). */
  tenants?: string[] | null;
}

/** Microsoft Teams as a chat platform: commands, Universal Actions and proactive cards, over botbuilder. */
export class TeamsPlatform implements ChatPlatform {
  readonly name = "Teams";
  readonly adapter: CloudAdapter;
  readonly surface: TeamsSurface;
  readonly conversations: TeamsConversations;
  private readonly bot: PimTeamsBot;
  private readonly inFlight: InFlight;

  constructor(private readonly opts: TeamsPlatformOptions) {
    const log = opts.log.child({ platform: "teams" });
    this.adapter = createTeamsAdapter(opts, log);
    const appId = opts.appId ?? "";
    this.conversations = new TeamsConversations(opts.deps, this.adapter, log, {
      appId,
      tenantId: opts.tenantId ?? null,
      defaultServiceUrl: opts.defaultServiceUrl ?? GLOBAL_SERVICE_URL,
    });
    this.surface = new TeamsSurface(this.adapter, this.conversations, appId);
    const ctx: TeamsContext = {
      ...platformContext(opts, log, "elevate"),
      identity: new TeamsIdentity(opts.deps, log, {
        emailTtlMs: opts.emailTtlMs ?? 10 * 60_000,
        tenants: opts.tenants ?? null,
      }),
      conversations: this.conversations,
    };
    this.bot = new PimTeamsBot(ctx);
    this.inFlight = new InFlight(() => opts.notifier.idle());
  }

  mount(http: HttpServer): void {
    const handle = activityHandler(this.adapter, (turn) => this.bot.run(turn));
    http.route("POST", "/api/messages", (req, res) => this.inFlight.track(() => handle(req, res)));
  }

  async start(): Promise<void> {
    await this.conversations.load();
    if (this.opts.appId)
      this.opts.log.info({ platform: "teams", appId: this.opts.appId }, "Teams is ready at POST /api/messages");
    else
      this.opts.log.warn(
        { platform: "teams", auth: "off" },
        "TEAMS AUTHENTICATION IS OFF: anyone who can reach POST /api/messages can act as any Teams user. " +
          "Use this only on your own machine (npm run playground); set MICROSOFT_APP_ID for real Teams.",
      );
  }

  async stop(): Promise<void> {
    await this.idle();
  }

  /** Resolves once every activity being handled has finished and every card it changed is redrawn. */
  idle(): Promise<void> {
    return this.inFlight.idle();
  }
}
