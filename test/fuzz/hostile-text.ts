import fc from "fast-check";

/**
 * What people may type, and what an attacker would: any Unicode, control characters, and the
 * syntax each platform acts on (Slack mentions and links, Teams markdown, <at> tags and
 * {{DATE()}} functions), mixed and sometimes very long.
 */
const FRAGMENTS = [
  "<!channel>",
  "<!here>",
  "<!everyone>",
  "<@U0ERIN>",
  "<#C0ALERTS>",
  "<https://evil.example|click here>",
  "<!subteam^S0ADMINS>",
  "&amp;",
  "&lt;",
  "*bold*",
  "_it_",
  "~x~",
  "`code`",
  "```",
  "[link](https://evil.example)",
  "![img](https://evil.example/x.png)",
  "<at>Erin</at>",
  "{{DATE(2026-01-01T00:00:00Z)}}",
  "# heading",
  "- item",
  "1. item",
  "\\",
  "\u0007",
  "\u202e",
  "\u200b",
  "\r\n",
  "\n",
  "\t",
  "'; drop table activations; --",
  "\u0024{process.env}",
  "%s%n",
  "😀",
  "ﷺ",
  "INC-123456",
  "req_5Hq",
  "1h",
];

/**
 * NUL is left out of this free text: PostgreSQL text cannot hold it. Where it is refused with a
 * message (a justification, a ticket, a comment, a button's value) it has tests of its own.
 */
export function hostileText(maxLength = 60): fc.Arbitrary<string> {
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 8 }).map((p) => p.join(" ")) },
      { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength }) },
      { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength }) },
      { weight: 1, arbitrary: fc.constantFrom(...FRAGMENTS).map((f) => f.repeat(Math.ceil(3_000 / f.length))) },
    )
    .map((text) => text.replaceAll("\u0000", ""));
}
