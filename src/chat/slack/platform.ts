import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import type { EngineDeps } from "../../app/context.js";
import type { HttpServer } from "../../http/server.js";
import type { ChatPlatform } from "../platform.js";
import type { ChatNotifier } from "../views/notifier.js";
import { registerActions } from "./actions.js";
import { buildSlackApp, type SlackAppSettings } from "./app.js";
import { registerCommands } from "./commands.js";
import type { SlackContext, SlackHooks } from "./context.js";
import { registerExtendForm } from "./extend-flow.js";
import { registerHome } from "./home.js";
import { SlackIdentity } from "./identity.js";
import { registerRequestForm } from "./request-flow.js";
import { registerReviewActions } from "./review-actions.js";
import { SlackSurface } from "./surface.js";

export interface SlackPlatformOptions extends Omit<SlackAppSettings, "log"> {
  deps: EngineDeps;
  log: Logger;
  /** Shared with the other platforms; the Slack surface is added to it. */
  notifier: ChatNotifier;
  hooks?: SlackHooks;
  /** The slash command as the manifest installs it. */
  command?: string;
  askWho?: string;
  /** How long an email from users.info is trusted (default 10 minutes). */
  emailTtlMs?: number;
  /** How long a resolved principal is reused (default 30 seconds). */
  principalTtlMs?: number;
  /** Workspace (T…) and organization (E…) ids served; empty: the bot token's own workspace. */
  workspaces?: string[];
}

/** Slack as a chat platform: /elevate, buttons, modals and the home tab, over Bolt. */
export class SlackPlatform implements ChatPlatform {
  readonly name = "Slack";
  readonly app: App;
  readonly surface: SlackSurface;
  private readonly mode: "http" | "socket";
  private readonly listener: ((req: never, res: never) => void) | null;
  private inFlight = 0;
  private drained: (() => void)[] = [];

  constructor(private readonly opts: SlackPlatformOptions) {
    const log = opts.log.child({ platform: "slack" });
    const built = buildSlackApp({ ...opts, log });
    this.app = built.app;
    this.mode = built.receiver ? "http" : "socket";
    this.listener = built.receiver ? built.receiver.requestListener : null;
    this.surface = new SlackSurface(this.app.client);
    const ctx: SlackContext = {
      deps: opts.deps,
      identity: new SlackIdentity(opts.deps, this.app.client, log, {
        emailTtlMs: opts.emailTtlMs ?? 10 * 60_000,
        principalTtlMs: opts.principalTtlMs ?? 30_000,
        workspaces: opts.workspaces,
      }),
      notifier: opts.notifier,
      log,
      hooks: opts.hooks ?? {},
      command: opts.command ?? "/elevate",
      askWho: opts.askWho ?? "a PIM administrator",
    };
    // Handlers go on working after their ack; counting them lets stop() (and tests) wait for the rest.
    this.app.use(async ({ next }) => {
      this.inFlight++;
      try {
        await next();
      } finally {
        if (--this.inFlight === 0) for (const done of this.drained.splice(0)) done();
      }
    });
    this.app.use(ctx.identity.gate);
    registerCommands(this.app, ctx);
    registerRequestForm(this.app, ctx);
    registerExtendForm(this.app, ctx);
    registerActions(this.app, ctx);
    registerHome(this.app, ctx);
    registerReviewActions(this.app, ctx);
    this.app.error(async (error) => {
      log.error({ err: error, code: (error as { code?: string }).code }, "slack handler failed");
    });
    opts.notifier.addSurface(this.surface);
    if (opts.hooks?.mfaLinkFor) opts.notifier.provideMfaLinks(opts.hooks.mfaLinkFor);
  }

  mount(http: HttpServer): void {
    const listener = this.listener;
    if (listener) http.route("POST", "/slack/events", (req, res) => listener(req as never, res as never));
  }

  /** Checks the bot token with auth.test (a bad token stops start-up), then connects in Socket Mode. */
  async start(): Promise<void> {
    await this.app.init();
    if (this.mode === "socket") await this.app.start();
    this.opts.log.info({ platform: "slack", mode: this.mode }, "Slack is connected");
  }

  async stop(): Promise<void> {
    if (this.mode === "socket") await this.app.stop();
    await this.idle();
  }

  /** Resolves once every handler has finished its work after the ack, and every card it changed is redrawn. */
  async idle(): Promise<void> {
    do {
      if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
      await this.opts.notifier.idle();
    } while (this.inFlight > 0);
  }
}
