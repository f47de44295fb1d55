import { createRequire } from "node:module";
import {
  type Activity,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type TurnContext,
} from "botbuilder";
import type { Logger } from "pino";

/**
 * botframework-connector as botbuilder itself loads it: botbuilder does not re-export its
 * AuthenticationError and constants, and CloudAdapter answers 401 only for that very class.
 */
const connector = createRequire(createRequire(import.meta.url).resolve("botbuilder"))(
  "botframework-connector",
) as typeof import("botframework-connector");
const { AuthenticationConstants, AuthenticationError } = connector;

/** Bot Framework's public-cloud values, the ones used when nothing overrides them. */
export const PUBLIC_CLOUD = {
  oAuthScope: AuthenticationConstants.ToChannelFromBotOAuthScope,
} as const;

export interface TeamsAuthSettings {
  /** The Azure Bot's Microsoft app id; null turns authentication off (local use only). */
  appId: string | null;
  appPassword?: string;
  tenantId?: string;
  appType?: "MultiTenant" | "SingleTenant" | "UserAssignedMSI";
  /**
   * Where tokens from the channel are checked, for tests and private clouds: the OpenID metadata
   * URL and the issuer Bot Framework tokens must carry. Unset: Microsoft's public cloud.
   */
  channelOpenIdMetadataUrl?: string;
  channelTokenIssuer?: string;
}

/** What the app type still needs, worded like start-up's configuration errors; null when complete. */
export function teamsCredentialsProblem(s: TeamsAuthSettings): string | null {
  if (!s.appId) return null;
  const type = s.appType ?? "MultiTenant";
  if (type === "UserAssignedMSI" && s.appPassword)
    return "MICROSOFT_APP_PASSWORD: must not be set with MICROSOFT_APP_TYPE=UserAssignedMSI (the managed identity signs in)";
  if (type !== "UserAssignedMSI" && !s.appPassword)
    return "MICROSOFT_APP_PASSWORD: required when MICROSOFT_APP_ID is set (the Azure Bot's client secret)";
  if (type !== "MultiTenant" && !s.tenantId) return `MICROSOFT_APP_TENANT_ID: required with MICROSOFT_APP_TYPE=${type}`;
  return null;
}

/**
 * The botbuilder adapter. With an app id every activity must carry a Bot Framework token that
 * the adapter validates (signature, issuer, audience = our app id, service URL claim); without
 * one, authentication is off and anything that can reach /api/messages can act as anyone.
 */
export function createTeamsAdapter(settings: TeamsAuthSettings, log: Logger): CloudAdapter {
  const options: ConfigurationBotFrameworkAuthenticationOptions = {
    MicrosoftAppId: settings.appId ?? "",
    MicrosoftAppPassword: settings.appPassword ?? "",
    MicrosoftAppTenantId: settings.tenantId ?? "",
    MicrosoftAppType: settings.appType ?? "MultiTenant",
  };
  if (settings.channelOpenIdMetadataUrl || settings.channelTokenIssuer)
    // Naming any endpoint switches botbuilder to "all parameters given": the rest keep the public-cloud values.
    Object.assign(options, {
      ToChannelFromBotLoginUrl: `${AuthenticationConstants.ToChannelFromBotLoginUrlPrefix}${settings.tenantId || AuthenticationConstants.DefaultChannelAuthTenant}`,
      ToChannelFromBotOAuthScope: AuthenticationConstants.ToChannelFromBotOAuthScope,
      ToBotFromChannelTokenIssuer: settings.channelTokenIssuer ?? AuthenticationConstants.ToBotFromChannelTokenIssuer,
      OAuthUrl: AuthenticationConstants.OAuthUrl,
      ToBotFromChannelOpenIdMetadataUrl:
        settings.channelOpenIdMetadataUrl ?? AuthenticationConstants.ToBotFromChannelOpenIdMetadataUrl,
      ToBotFromEmulatorOpenIdMetadataUrl: AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl,
      CallerId: "urn:botframework:azure",
      ValidateAuthority: true,
    });
  const adapter = new CloudAdapter(new StrictAuthentication(options));
  adapter.onTurnError = async (turn: TurnContext, error: Error) => {
    log.error(
      {
        err: error,
        activityType: turn.activity.type,
        activityId: turn.activity.id,
        conversation: turn.activity.conversation?.id,
      },
      "teams turn failed",
    );
    if (turn.activity.type === "message")
      await turn.sendActivity("Something went wrong on my side; it was logged. Try again in a moment.").catch(() => {});
  };
  return adapter;
}

/** jsonwebtoken's own errors for a bad signature, a wrong shape or a token not yet valid. */
const TOKEN_ERRORS = new Set(["JsonWebTokenError", "NotBeforeError", "TokenExpiredError"]);

/**
 * botbuilder's authentication, with one gap closed: a token whose signature does not verify
 * makes jsonwebtoken throw its own error, which CloudAdapter answers with 500. It is refused
 * either way; here it is refused as what it is, 401.
 */
class StrictAuthentication extends ConfigurationBotFrameworkAuthentication {
  override async authenticateRequest(activity: Activity, authHeader: string) {
    try {
      return await super.authenticateRequest(activity, authHeader);
    } catch (error) {
      if (error instanceof Error && TOKEN_ERRORS.has(error.name))
        throw new AuthenticationError(`Unauthorized. ${error.message}`, 401);
      throw error;
    }
  }
}
