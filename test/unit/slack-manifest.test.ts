import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const manifest = parse(readFileSync(new URL("../../manifest/slack.yaml", import.meta.url), "utf8"));

describe("manifest/slack.yaml", () => {
  it("asks only for the bot scopes pim-bot uses", () => {
    expect(manifest.oauth_config.scopes.bot).toEqual([
      "commands",
      "chat:write",
      "im:write",
      "users:read",
      "users:read.email",
      "files:write",
    ]);
    expect(manifest.oauth_config.scopes.user).toBeUndefined();
  });

  it("sends the command, the interactions and the events to the one endpoint", () => {
    const [command] = manifest.features.slash_commands;
    expect(command.command).toBe("/elevate");
    expect(command.usage_hint).toContain("status");
    const urls = [
      command.url,
      manifest.settings.interactivity.request_url,
      manifest.settings.event_subscriptions.request_url,
    ];
    for (const url of urls) expect(new URL(url).pathname).toBe("/slack/events");
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(["app_home_opened"]);
  });

  it("has the home tab and the messages tab the cards arrive in", () => {
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
    expect(manifest.display_information.long_description.length).toBeGreaterThanOrEqual(175);
  });
});
