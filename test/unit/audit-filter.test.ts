import { describe, expect, it } from "vitest";
import { filterWords, parseAuditFilter, parseWhen } from "../../src/chat/flows/audit-filter.js";
import { DAY, HOUR } from "../../src/domain/duration.js";

const NOW = new Date("2026-12-05T15:00:00Z");
const parsed = (text: string) => {
  const result = parseAuditFilter(text, NOW);
  if (!result.ok) throw new Error(result.error);
  return result.value;
};
const refusal = (text: string) => {
  const result = parseAuditFilter(text, NOW);
  if (result.ok) throw new Error(`"${text}" was accepted`);
  return result.error;
};

describe("the audit filter typed in chat", () => {
  it("splits words on spaces, keeping quoted names and platform mentions whole", () => {
    expect(filterWords(' role:"Global Administrator"  person:<@U0ALICE|alice> event:approval ')).toEqual([
      "role:Global Administrator",
      "person:<@U0ALICE|alice>",
      "event:approval",
    ]);
    expect(filterWords("role:\u201cDatabase Administrator\u201d")).toEqual(["role:Database Administrator"]);
    expect(filterWords("")).toEqual([]);
  });

  it("reads nothing as every event", () => {
    expect(parsed("")).toEqual({});
  });

  it("reads each filter: person by key, e-mail or mention; role; events; since and until", () => {
    expect(parsed("person:alice role:reader event:activation event:approval.deny since:7d until:2026-12-04")).toEqual({
      person: { text: "alice" },
      role: "reader",
      events: ["activation", "approval.deny"],
      from: new Date(NOW.getTime() - 7 * DAY),
      to: new Date("2026-12-05T00:00:00Z"),
    });
    expect(parsed("person:<@U0ALICE|alice>").person).toEqual({ platformId: "U0ALICE" });
    expect(parsed("person:<@29:alice>").person).toEqual({ platformId: "29:alice" });
    expect(parsed("person:<mailto:alice@example.com|alice@example.com>").person).toEqual({ text: "alice@example.com" });
    expect(parsed("person:@bob").person).toEqual({ text: "bob" });
    expect(parsed("PERSON:bob Role:Reader").role).toBe("Reader");
  });

  it("reads a time as a date (midnight UTC; until counts the whole day), an exact time, or a length back", () => {
    expect(parseWhen("2026-12-01", NOW)).toEqual({ ok: true, value: new Date("2026-12-01T00:00:00Z") });
    expect(parseWhen("2026-12-01", NOW, true)).toEqual({ ok: true, value: new Date("2026-12-02T00:00:00Z") });
    expect(parseWhen("2026-12-01T14:30Z", NOW)).toEqual({ ok: true, value: new Date("2026-12-01T14:30:00Z") });
    expect(parseWhen("2026-12-01T14:30+01:00", NOW)).toEqual({ ok: true, value: new Date("2026-12-01T13:30:00Z") });
    expect(parseWhen("12h", NOW)).toEqual({ ok: true, value: new Date(NOW.getTime() - 12 * HOUR) });
    expect(parseWhen("2w", NOW)).toEqual({ ok: true, value: new Date(NOW.getTime() - 14 * DAY) });
  });

  it("names the bad part of a filter and says what would be right", () => {
    expect(refusal("alice")).toContain('I don\'t understand "alice"');
    expect(refusal("who:alice")).toContain('"who:alice"');
    expect(refusal("who:alice")).toContain("person:, role:, event:, since:, until:");
    expect(refusal("person:")).toContain('"person:" names no person');
    expect(refusal('role:""')).toContain("names no role");
    expect(refusal("since:yesterday")).toContain('since: "yesterday" is not a date');
    expect(refusal("until:2026-02-30")).toContain('until: "2026-02-30" is not a day of the calendar');
    expect(refusal("since:2026-12-01T25:00Z")).toContain("since:");
    expect(refusal("since:0d")).toContain("since:");
    expect(refusal("person:alice person:bob")).toBe("person: is given twice; give it once.");
    expect(refusal("since:1d since:2d")).toBe("since: is given twice; give it once.");
    expect(refusal("since:2026-12-03 until:2026-12-01")).toContain("since: is not before until:");
    expect(refusal("person:al\u0000ice")).toContain("NUL character");
  });

  it("cuts a long bad word when it says it back", () => {
    expect(refusal(`x${"y".repeat(500)}`).length).toBeLessThan(200);
  });
});
