import type { HttpServer } from "../http/server.js";

/**
 * A chat platform (Slack, Teams) as the composition root sees it. A platform whose settings are
 * missing is replaced by a disabled one that says why, once, at start.
 */
export interface ChatPlatform {
  readonly name: string;
  mount(http: HttpServer): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class DisabledPlatform implements ChatPlatform {
  constructor(
    readonly name: string,
    readonly why: string,
  ) {}
  mount(): void {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
