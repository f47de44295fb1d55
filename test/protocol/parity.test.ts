/**
 * Every command, button and form of the product, in one table, run through the bot built by
 * compose() on Slack and on Teams, in a Slack-only, a Teams-only and a two-platform deployment.
 * Each row must come out the same everywhere: the same audit events, the same state of what it
 * acted on, and the same people shown something. The table is checked against the product's own
 * lists (the buttons and forms of action-ids.ts, the subcommands and the help), so a new action
 * without a row, or one that a platform handles on its own, fails here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ADMIN_SUBCOMMANDS } from "../../src/chat/flows/admin.js";
import { SUBCOMMANDS } from "../../src/chat/flows/commands.js";
import { ACTIONS, FORMS } from "../../src/chat/views/action-ids.js";
import { plainText } from "../../src/chat/views/card.js";
import { helpCard } from "../../src/chat/views/help.js";
import { describeParity, ROLE_NAME, TABLE, UNKNOWN } from "./parity-table.js";

describeParity([
  { name: "Slack only", platforms: ["slack"] },
  { name: "Teams only", platforms: ["teams"] },
]);

// ── the table is complete by construction ──

/** The subcommands the help names: the word after the command in each of its lines. */
function helpSubcommands(): string[] {
  const text = helpCard("/elevate")
    .blocks.flatMap((b) => (b.type === "text" ? [plainText(b.text)] : []))
    .join("\n");
  return [...text.matchAll(/\/elevate( [a-z]+)?/g)].map((m) => (m[1] ?? "").trim());
}

/** Action and form ids written out in the platform folders instead of taken from action-ids.ts. */
function idsInPlatformFolders(): string[] {
  const found = new Set<string>();
  for (const folder of ["slack", "teams"]) {
    const dir = new URL(`../../src/chat/${folder}/`, import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts")))
      for (const m of readFileSync(new URL(file, dir), "utf8").matchAll(/["'](pim\.[a-z.]+)["']/g)) found.add(m[1]!);
  }
  return [...found].sort();
}

/** What only one platform has, by its nature, that is not a product action: never a row. */
const PLATFORM_ONLY = {
  /** Slack tells the app of clicks on link buttons (the MFA page); there is nothing to do. */
  "pim.link": "slack",
  /** Teams asks a card to redraw itself for whoever looks at it (Action.Execute refresh). */
  "pim.refresh": "teams",
};

describe("parity: the table", () => {
  it("has a row for every button, form and subcommand of the product", () => {
    const known = [
      ...Object.values(ACTIONS),
      ...Object.values(FORMS),
      ...Object.keys(SUBCOMMANDS),
      ...Object.keys(ADMIN_SUBCOMMANDS).map((sub) => `admin ${sub}`),
      ...helpSubcommands(),
      ROLE_NAME,
      UNKNOWN,
    ];
    const rows = TABLE.map((r) => r.id);
    expect([...new Set(known)].filter((id) => !rows.includes(id))).toEqual([]);
    expect(rows.filter((id) => !known.includes(id))).toEqual([]);
    expect(rows.filter((id, i) => rows.indexOf(id) !== i)).toEqual([]);
  });

  it("finds the help naming exactly the subcommands there are", () => {
    expect(helpSubcommands().filter(Boolean).sort()).toEqual(Object.keys(SUBCOMMANDS).sort());
  });

  it("leaves no platform an action of its own: ids in slack/ and teams/ come from action-ids.ts", () => {
    // Written out, a shared id could drift from action-ids.ts; any other id is an action one platform has alone.
    expect(idsInPlatformFolders().filter((id) => !(id in PLATFORM_ONLY))).toEqual([]);
  });
});
