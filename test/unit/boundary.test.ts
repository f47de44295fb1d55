import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const root = new URL("../../src/", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

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
