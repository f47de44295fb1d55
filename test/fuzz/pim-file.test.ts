import { readFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { applyConfig } from "../../src/app/admin/apply-config.js";
import { noEvents } from "../../src/app/kernel/events.js";
import { formatPimFileErrors, type PimFileError, parsePimFile } from "../../src/config/pim-file.js";
import { verifyAuditChain } from "../../src/db/audit-log.js";
import { ManualClock } from "../support/clock.js";
import { createTestDatabase, type TestDatabase } from "../support/databases.js";

/**
 * pim.yaml is written by people: whatever it holds, loading it answers with a policy or with
 * errors that name where and what, never with an exception; and whatever loads, applies.
 */
const EXAMPLE = readFileSync(new URL("../../pim.example.yaml", import.meta.url), "utf8");
const SEED = Number(process.env.FUZZ_SEED ?? 16);

function expectClearRefusal(errors: PimFileError[]): void {
  expect(errors.length).toBeGreaterThan(0);
  for (const e of errors) {
    expect(e.path.length).toBeGreaterThan(0);
    expect(e.message.trim().length).toBeGreaterThan(0);
  }
  expect(formatPimFileErrors(errors).split("\n")).toHaveLength(errors.length);
}

/** Values people get wrong: wrong types, empty, huge, negative, paths, chat syntax, YAML-looking text. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom("", " ", "0", "-1h", "25h", "1e309", "/", "//", "/../x", "<!channel>", "*", "&a", "~", "null", "yes"),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.integer(),
  fc.double(),
);

/** Every path to a value in a parsed document. */
function pathsOf(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => pathsOf(v, [...at, i]))];
  if (value && typeof value === "object")
    return [at, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...at, k]))];
  return [at];
}

function replaced(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

describe("pim.yaml fuzzed", () => {
  const example = parsePimFile(EXAMPLE, "pim.example.yaml");
  const exampleData = (() => {
    if (!example.ok) throw new Error(formatPimFileErrors(example.error));
    // The same document as plain data, to change one value at a time.
    return JSON.parse(JSON.stringify(parseYaml(EXAMPLE))) as unknown;
  })();
  const paths = pathsOf(exampleData);

  it("any text: a policy or errors naming where, never an exception", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 400 }), yamlish()), (text) => {
        const parsed = parsePimFile(text, "fuzz.yaml");
        if (!parsed.ok) expectClearRefusal(parsed.error);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it("hostile YAML (alias bombs, deep nesting, huge scalars) is refused, not obeyed", () => {
    const bomb = `a: &a ["x","x","x","x","x","x","x","x","x"]\n${Array.from(
      { length: 9 },
      (_, i) =>
        `${"b".repeat(i + 1)}: &${"b".repeat(i + 1)} [${Array(9)
          .fill(i === 0 ? "*a" : `*${"b".repeat(i)}`)
          .join(",")}]`,
    ).join("\n")}\nversion: 1\n`;
    for (const text of [
      bomb,
      `${"[".repeat(5_000)}${"]".repeat(5_000)}`,
      `version: 1\nusers: "${"x".repeat(1_000_000)}"\n`,
    ]) {
      const parsed = parsePimFile(text, "hostile.yaml");
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expectClearRefusal(parsed.error);
    }
  });

  describe("the example with one value changed", () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase("pglite");
    });
    afterAll(() => db.dispose());

    it("loads with errors naming where, or loads and applies", { timeout: 120_000 }, async () => {
      let applied = 0;
      let refused = 0;
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), oddValue, async (path, value) => {
          const text = stringify(replaced(exampleData, path, value));
          const parsed = parsePimFile(text, "changed.yaml");
          if (!parsed.ok) {
            refused++;
            expectClearRefusal(parsed.error);
            return;
          }
          applied++;
          const summary = await applyConfig({ db: db.db, clock: new ManualClock(), events: noEvents }, parsed.value);
          expect(summary).toBeDefined();
        }),
        { seed: SEED, numRuns: 40 },
      );
      expect(await verifyAuditChain(db)).toMatchObject({ ok: true });
      console.log(`[fuzz pim.yaml] ${refused} refused with errors, ${applied} loaded and applied`);
      expect(refused).toBeGreaterThan(0);
    });
  });
});

/** Text that looks like YAML: keys of the policy, indentation, flow collections, anchors. */
function yamlish(): fc.Arbitrary<string> {
  const token = fc.constantFrom(
    "version: 1\n",
    "users:\n",
    "  - ",
    "{ key: a, name: A, email: a@example.com }\n",
    "roles:\n",
    "key: ",
    "policy: { activation: { maxDuration: ",
    "}}\n",
    "[",
    "]",
    "&x ",
    "*x",
    "<<: *x\n",
    "!!binary ",
    '"\\u0000"',
    "\t",
    "\n",
    ": ",
    "- ",
    "null",
    "8h",
  );
  return fc.array(token, { maxLength: 30 }).map((t) => t.join(""));
}
