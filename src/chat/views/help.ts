import type { Card, Rich } from "./card.js";

/** What each subcommand does; `command` is how the platform spells it ("/elevate" in Slack). */
export function helpCard(command: string, note?: string): Card {
  const line = (sub: string, what: string): Rich => [{ code: `${command}${sub}` }, ` — ${what}`];
  return {
    header: "PIM: just-in-time privileged access",
    tone: "info",
    summary: `${command} opens the request form; ${command} help lists everything else.`,
    blocks: [
      ...(note ? [{ type: "text" as const, text: [note] }] : []),
      {
        type: "text",
        text: [
          ...line("", "request one or more roles for a while"),
          "\n",
          ...line(" status", "your active roles with time left, and your pending requests"),
          "\n",
          ...line(" end [role]", "end an active role now"),
          "\n",
          ...line(" extend [role]", "ask for more time on an active role"),
          "\n",
          ...line(" pending", "requests waiting for your decision"),
          "\n",
          ...line(" roles", "what you are eligible for, and each role's rules"),
          "\n",
          ...line(" assignments", "your assignments and their ends; extend or renew them"),
          "\n",
          ...line(" history", "your requests of the last 90 days and how each ended"),
          "\n",
          ...line(" approvals", "the decisions you made on other people's requests"),
          "\n",
          ...line(" mfa setup", "enroll an MFA method for step-up"),
          "\n",
          ...line(" review <name>", "administrators: start an access review now"),
          "\n",
          ...line(" active", "administrators: every role held now, each with a Revoke button"),
          "\n",
          ...line(" revoke @person <role> <reason>", "administrators: take a role away now; the holder is told why"),
          "\n",
          ...line(
            " audit [export] [person:… role:… event:… since:… until:…]",
            "administrators and auditors: the newest matching audit events; with export, all of them as a CSV file in your direct chat",
          ),
          "\n",
          ...line(
            " admin [assign|members|end|remove]",
            "administrators: assign a role (the form, or typed), see a role's members, change an end, remove",
          ),
          "\n",
          ...line(" help", "this message"),
        ],
      },
      {
        type: "context",
        lines: [
          ["Nobody holds a privileged role at rest: you ask, it is granted for a while, and every step is audited."],
        ],
      },
    ],
  };
}
