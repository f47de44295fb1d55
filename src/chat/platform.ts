import type { Logger } from "pino";
import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import type { HttpServer } from "../http/server.js";
import type { FlowContext } from "./flows/interaction.js";
import { DEFAULT_RECORDING, type RecordingPolicy } from "./flows/recording.js";
import type { ChatNotifier } from "./notify/notifier.js";
import type { ChatPorts } from "./ports.js";

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

/** What every handler of a platform works with, besides its own identity and transport. */
export interface PlatformContext {
  deps: EngineDeps;
  notifier: ChatNotifier;
  log: Logger;
  ports: ChatPorts;
  /** The flows, with this platform's spelling of the command. */
  flows: FlowContext;
  /** The command as people type it: "/elevate" on Slack, "elevate" on Teams. */
  command: string;
  /** Who people should ask for access, in the "no eligible roles" message. */
  askWho: string;
}

/** What composition gives every platform. */
export interface PlatformOptions {
  deps: EngineDeps;
  log: Logger;
  /** Shared with the other platforms; composition adds this platform's surface to it. */
  notifier: ChatNotifier;
  ports: ChatPorts;
  /** The command as the platform's manifest installs it. */
  command?: string;
  askWho?: string;
  /** How clicks and forms are tried again during a database outage (tests pass time by hand). */
  recording?: Partial<RecordingPolicy>;
}

/** The context every handler of a platform gets, with the flows spelling the command its way. */
export function platformContext(opts: PlatformOptions, log: Logger, defaultCommand: string): PlatformContext {
  const command = opts.command ?? defaultCommand;
  const askWho = opts.askWho ?? "a PIM administrator";
  const { deps, ports, notifier } = opts;
  const recording = { ...DEFAULT_RECORDING, ...opts.recording };
  return {
    deps,
    notifier,
    log,
    ports,
    flows: { deps, ports, notifier, log, recording, command, askWho },
    command,
    askWho,
  };
}
