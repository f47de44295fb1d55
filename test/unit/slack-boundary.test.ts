import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const root = new URL("../../src/", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const importsSlack = (f: string) => /from ["']@slack\//.test(readFileSync(join(root, f), "utf8"));

it("everything of Bolt stays inside src/chat/slack, so the SDK can be replaced there alone", () => {
  expect(sources(".").filter((f) => importsSlack(f) && !f.startsWith("chat/slack/"))).toEqual([]);
});

it("the neutral views know no platform: no Slack, no botbuilder, no Block Kit fields", () => {
  const offenders = sources("chat/views").filter((f) =>
    /from ["'](@slack\/|botbuilder)|mrkdwn|block_id|action_id/.test(readFileSync(join(root, f), "utf8")),
  );
  expect(offenders).toEqual([]);
});
