import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../../src/", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** One import of one file: its specifier, and the file under src/ it names (null for a package). */
interface Edge {
  from: string;
  spec: string;
  to: string | null;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?[^'";]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The imports of a file, relative specifiers resolved the way TypeScript does (`.js` names the `.ts`). */
function importsOf(file: string, text: string, exists: (path: string) => boolean): Edge[] {
  const edges: Edge[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2])!;
    if (!spec.startsWith(".")) {
      edges.push({ from: file, spec, to: null });
      continue;
    }
    const base = join(dirname(file), spec).replace(/\.js$/, "");
    const to = [`${base}.ts`, `${base}/index.ts`].find(exists) ?? `${base}.ts`;
    edges.push({ from: file, spec, to });
  }
  return edges;
}

const under = (dir: string) => (path: string) => path === dir || path.startsWith(`${dir}/`);

interface Rule {
  rule: string;
  /** The files the rule speaks of. */
  of: (file: string) => boolean;
  /** Whether one of their imports keeps the rule. */
  allows: (edge: Edge) => boolean;
}

/** DESIGN.md, "Import rules": one row per rule. */
const RULES: Rule[] = [
  {
    rule: "domain imports only domain",
    of: under("domain"),
    allows: (e) => e.to !== null && under("domain")(e.to),
  },
  {
    rule: "chat never imports src/db/ (it asks the app layer)",
    of: under("chat"),
    allows: (e) => e.to === null || !under("db")(e.to),
  },
  {
    rule: "chat/views imports only domain and views",
    of: under("chat/views"),
    allows: (e) => e.to !== null && (under("domain")(e.to) || under("chat/views")(e.to)),
  },
  {
    rule: "app never imports chat",
    of: under("app"),
    allows: (e) => e.to === null || !under("chat")(e.to),
  },
  {
    rule: "use cases, jobs and MFA never name a table: no drizzle-orm, no src/db/schema (they call repositories)",
    of: (file) => under("app")(file) || under("jobs")(file) || under("mfa")(file),
    allows: (e) => (e.to === null ? !/^drizzle-orm(\/|$)/.test(e.spec) : !under("db/schema")(e.to)),
  },
];

function brokenEdges(rule: Rule, edges: Edge[]): string[] {
  return edges.filter((e) => rule.of(e.from) && !rule.allows(e)).map((e) => `${e.from} -> ${e.to ?? e.spec}`);
}

/** Every cycle of imports (type-only ones included: they tie the files just as much), as file lists. */
function cycles(edges: Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (e.to) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || next.get(v)?.includes(v)) found.push(component.sort());
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return found;
}

const files = sources(".");
const edges = files.flatMap((f) => importsOf(f, readFileSync(join(root, f), "utf8"), (p) => existsSync(join(root, p))));

describe("import rules over every file under src/", () => {
  it.each(RULES)("$rule", (rule) => {
    expect(brokenEdges(rule, edges)).toEqual([]);
  });

  it("no import cycles anywhere", () => {
    expect(cycles(edges).map((c) => c.join(" <-> "))).toEqual([]);
  });

  it("reads real imports: relative `.js` specifiers resolve to the files under src/", () => {
    const notifier = edges.filter((e) => e.from === "chat/notify/notifier.ts");
    expect(notifier.map((e) => e.to)).toContain("domain/card-routing.ts");
    expect(edges.filter((e) => e.to !== null && !existsSync(join(root, e.to)))).toEqual([]);
  });
});

describe("the import rules catch what they forbid", () => {
  const planted = (files: Record<string, string>) => {
    const paths = new Set(Object.keys(files));
    return Object.entries(files).flatMap(([f, text]) => importsOf(f, text, (p) => paths.has(p)));
  };
  const tree = planted({
    "domain/a.ts": 'import { x } from "../db/client.js";\nimport type { Y } from "./b.js";',
    "domain/b.ts": 'import { z } from "zod";',
    "chat/views/card.ts": 'import type { V } from "../../app/queries.js";',
    "chat/slack/home.ts": 'import type { P } from "../../db/repos/directory.js";',
    "app/queries.ts": 'export { c } from "../chat/views/card.js";',
    "app/one.ts": 'import { two } from "./two.js";',
    "app/two.ts": 'import { one } from "./one.js";',
    "jobs/sweep.ts": 'import { eq } from "drizzle-orm";\nimport { activations } from "../db/schema/activations.js";',
    "mfa/links.ts": 'import { sql } from "drizzle-orm/sql";\nimport { findLink } from "../db/repos/links.js";',
    "db/schema/activations.ts": "",
    "db/repos/links.ts": "",
    "db/client.ts": "",
    "db/repos/directory.ts": "",
  });

  it("reports each offending edge under its rule", () => {
    expect(Object.fromEntries(RULES.map((r) => [r.rule, brokenEdges(r, tree)]))).toEqual({
      "domain imports only domain": ["domain/a.ts -> db/client.ts", "domain/b.ts -> zod"],
      "chat never imports src/db/ (it asks the app layer)": ["chat/slack/home.ts -> db/repos/directory.ts"],
      "chat/views imports only domain and views": ["chat/views/card.ts -> app/queries.ts"],
      "app never imports chat": ["app/queries.ts -> chat/views/card.ts"],
      "use cases, jobs and MFA never name a table: no drizzle-orm, no src/db/schema (they call repositories)": [
        "jobs/sweep.ts -> drizzle-orm",
        "jobs/sweep.ts -> db/schema/activations.ts",
        "mfa/links.ts -> drizzle-orm/sql",
      ],
    });
    expect(
      cycles(tree)
        .map((c) => c.join(" <-> "))
        .sort(),
    ).toEqual(["app/one.ts <-> app/two.ts", "app/queries.ts <-> chat/views/card.ts"]);
  });
});

it("src/domain stays pure: no SDKs, no database, no environment, no I/O", () => {
  const forbidden =
    /from ["'](@slack\/|botbuilder|drizzle-orm|postgres["']|@electric-sql|node:(fs|http|net|crypto|child_process))|process\.env/;
  const offenders = sources("domain").filter((f) => forbidden.test(readFileSync(join(root, f), "utf8")));
  expect(offenders).toEqual([]);
});

it("chat code never writes SQL", () => {
  const offenders = sources("chat").filter((f) =>
    /from ["']drizzle-orm|from ["']postgres["']|\bsql`/.test(readFileSync(join(root, f), "utf8")),
  );
  expect(offenders).toEqual([]);
});

it("only the composition root and the env schema read process.env", () => {
  const all = sources(".").filter((f) => readFileSync(join(root, f), "utf8").includes("process.env"));
  expect(all.sort()).toEqual(["cli.ts", "main.ts"].filter((f) => all.includes(f)).sort());
});
