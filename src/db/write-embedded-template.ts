import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { openDatabase } from "./client.js";
import { DEFAULT_TEMPLATE, noteOf, pgliteVersion, type TemplateNote } from "./embedded-template.js";
import { journalEntries } from "./journal.js";
import { runMigrations } from "./migrate.js";

/** Writes the embedded database's template (see embedded-template.ts): initdb and every migration, in memory, then dumped. */
export async function writeEmbeddedTemplate(template = DEFAULT_TEMPLATE): Promise<void> {
  const handle = await openDatabase({ driver: "pglite", dataDir: null });
  try {
    await runMigrations(handle);
    // Written out now, so that the first start has no log to replay.
    await handle.db.execute("checkpoint");
    const dump = await handle.pglite!.dumpDataDir("gzip");
    await mkdir(dirname(template), { recursive: true });
    await writeFile(template, Buffer.from(await dump.arrayBuffer()));
    const note: TemplateNote = { pglite: pgliteVersion(), migration: journalEntries().at(-1)?.tag ?? null };
    await writeFile(noteOf(template), `${JSON.stringify(note, null, 2)}\n`);
  } finally {
    await handle.close();
  }
}
