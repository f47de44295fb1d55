import type { App } from "@slack/bolt";
import type { HttpServer } from "../../http/server.js";
import { InFlight } from "../in-flight.js";
import { type ChatPlatform, type PlatformOptions, platformContext } from "../platform.js";
import { registerActions } from "./actions.js";
import { buildSlackApp, type SlackAppSettings } from "./app.js";
import { registerCommands } from "./commands.js";
import type { SlackContext } from "./context.js";
import { registerForms } from "./forms.js";
import { registerHome } from "./home.js";
import { SlackIdentity } from "./identity.js";
import { SlackSurface } from "./surface.js";

export interface SlackPlatformOptions extends Omit<SlackAppSettings, "log">, PlatformOptions {
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
  private readonly inFlight: InFlight;
  /** Bolt answers nothing until initialized: requests arriving before wait for it instead of failing. */
  private readonly initialized: Promise<void>;
  private markInitialized: () => void = () => {};

  constructor(private readonly opts: SlackPlatformOptions) {
    this.initialized = new Promise((resolve) => {
      this.markInitialized = resolve;
    });
    const log = opts.log.child({ platform: "slack" });
    const built = buildSlackApp({ ...opts, log });
    this.app = built.app;
    this.mode = built.receiver ? "http" : "socket";
    this.listener = built.receiver ? built.receiver.requestListener : null;
    this.surface = new SlackSurface(this.app.client);
    const ctx: SlackContext = {
      ...platformContext(opts, log, "/elevate"),
      identity: new SlackIdentity(opts.deps, this.app.client, log, {
        emailTtlMs: opts.emailTtlMs ?? 10 * 60_000,
        principalTtlMs: opts.principalTtlMs ?? 30_000,
        workspaces: opts.workspaces,
      }),
    };
    // Handlers go on working after their ack; counting them lets stop() (and tests) wait for the rest.
    this.inFlight = new InFlight(() => opts.notifier.idle());
    this.app.use(({ next }) => this.inFlight.track(next));
    this.app.use(ctx.identity.gate);
    registerCommands(this.app, ctx);
    registerForms(this.app, ctx);
    registerActions(this.app, ctx);
    registerHome(this.app, ctx);
    this.app.error(async (error) => {
      log.error({ err: error, code: (error as { code?: string }).code }, "slack handler failed");
    });
  }

  mount(http: HttpServer): void {
    const listener = this.listener;
    if (listener)
      http.route("POST", "/slack/events", async (req, res) => {
        await this.initialized;
        listener(req as never, res as never);
      });
  }

  /** Checks the bot token with auth.test (a bad token stops start-up), then connects in Socket Mode. */
  async start(): Promise<void> {
    await this.app.init();
    this.markInitialized();
    if (this.mode === "socket") await this.app.start();
    this.opts.log.info({ platform: "slack", mode: this.mode }, "Slack is connected");
  }

  async stop(): Promise<void> {
    if (this.mode === "socket") await this.app.stop();
    await this.idle();
  }

  /** Resolves once every handler has finished its work after the ack, and every card it changed is redrawn. */
  idle(): Promise<void> {
    return this.inFlight.idle();
  }
}
