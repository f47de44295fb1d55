import { requestIdFor } from "../../http/server.js";
import type { Principal } from "../flows/interaction.js";
import type { PlatformContext } from "../platform.js";
import type { SlackIdentity } from "./identity.js";

/** What every Slack handler works with. */
export interface SlackContext extends PlatformContext {
  identity: SlackIdentity;
}

export type { Principal };

/** The id of the HTTP request a payload came in on (Bolt's context carries it); a new one in Socket Mode. */
export function requestIdIn(context: Record<string, unknown>): string {
  const id = context.requestId;
  return typeof id === "string" && id !== "" ? id : requestIdFor(undefined);
}
