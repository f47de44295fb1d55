/**
 * How a database gets its schema at start-up: a new embedded database unpacked from the template
 * the build writes (no initdb, no migrations to run), a template of another PGlite version or
 * with a migration the code does not know left unused; and restarts that skip the migrator only
 * when the newest migration is recorded.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, resultRows } from "../../src/db/client.js";
import { noteOf, usableTemplate } from "../../src/db/embedded-template.js";
import { journalEntries } from "../../src/db/journal.js";
import { migrationsUpToDate, runMigrations } from "../../src/db/migrate.js";
import { scopes } from "../../src/db/schema/roles.js";
import { writeEmbeddedTemplate } from "../../src/db/write-embedded-template.js";
import { createTestDatabase, drivers } from "../support/databases.js";

const tags = () => journalEntries().map((e) => e.tag);

describe("the embedded database's template", () => {
  const dir = mkdtempSync(join(tmpdir(), "pim-template-"));
  const template = join(dir, "embedded-template.tar.gz");
  beforeAll(() => writeEmbeddedTemplate(template), 120_000);

  it("gives a new data directory every migration, and what is written there stays", { timeout: 60_000 }, async () => {
    const dataDir = join(dir, "data");
    const first = await openDatabase({ driver: "pglite", dataDir, template });
    try {
      const applied = resultRows<{ n: number }>(
        await first.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`),
      );
      expect(applied[0]!.n).toBe(journalEntries().length);
      await runMigrations(first); // nothing left to do
      await first.db.insert(scopes).values({ path: "/kept", name: "Kept" });
    } finally {
      await first.close();
    }
    const again = await openDatabase({ driver: "pglite", dataDir, template });
    try {
      const rows = await again.db.select({ path: scopes.path }).from(scopes);
      expect(rows.map((r) => r.path)).toContain("/kept");
    } finally {
      await again.close();
    }
  });

  it("is used only when PGlite's version and the migrations it holds are this code's", () => {
    expect(usableTemplate(template, tags())).toBe(template);
    expect(usableTemplate(template, tags().slice(0, -1))).toBeNull(); // it holds a migration unknown here
    const note = JSON.parse(readFileSync(noteOf(template), "utf8"));
    writeFileSync(noteOf(template), JSON.stringify({ ...note, pglite: "0.0.1" }));
    try {
      expect(usableTemplate(template, tags())).toBeNull();
    } finally {
      writeFileSync(noteOf(template), JSON.stringify(note));
    }
    expect(usableTemplate(join(dir, "no-such-template.tar.gz"), tags())).toBeNull();
  });
});

describe.each(drivers)("migrations at start-up on %s", (driver) => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db?.dispose());

  it("leaves the migrator out only when the newest migration is recorded", async () => {
    expect(await migrationsUpToDate(db)).toBe(true);
    const newest = journalEntries().at(-1)!;
    const [row] = resultRows<{ id: number; hash: string }>(
      await db.db.execute(sql`select id, hash from drizzle.__drizzle_migrations where created_at = ${newest.when}`),
    );
    expect(row).toBeDefined();
    await db.db.execute(sql`delete from drizzle.__drizzle_migrations where id = ${row!.id}`);
    try {
      expect(await migrationsUpToDate(db)).toBe(false);
    } finally {
      await db.db.execute(
        sql`insert into drizzle.__drizzle_migrations (id, hash, created_at) values (${row!.id}, ${row!.hash}, ${newest.when})`,
      );
    }
    expect(await migrationsUpToDate(db)).toBe(true);
  });

  it("leaves the question to the migrator on a database with no migrations yet", async () => {
    await db.db.execute(sql`alter schema drizzle rename to drizzle_aside`);
    try {
      expect(await migrationsUpToDate(db)).toBe(false);
    } finally {
      await db.db.execute(sql`alter schema drizzle_aside rename to drizzle`);
    }
  });
});
