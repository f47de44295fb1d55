import type { Principal } from "../flows/interaction.js";
import type { PlatformContext } from "../platform.js";
import type { SlackIdentity } from "./identity.js";

/** What every Slack handler works with. */
export interface SlackContext extends PlatformContext {
  identity: SlackIdentity;
}

export type { Principal };
