import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, normalize, sep } from "node:path";
import { gunzipSync } from "node:zlib";
import { PATHS } from "../paths.js";

/**
 * An empty, migrated embedded database, made when the code is built (`npm run build` writes it
 * beside the compiled code), so that a first start copies files instead of running initdb and
 * every migration: seconds of work done once per build instead of once per installation.
 *
 * It is a gzipped tar of PGlite's data directory, with a note of the PGlite version that wrote
 * it: files written by another version are not used (the first start then runs initdb as before).
 * It is written by write-embedded-template.ts.
 */
export const DEFAULT_TEMPLATE = PATHS.embeddedTemplate;

export interface TemplateNote {
  pglite: string;
  /** The last migration applied in it; later ones are applied at start-up as usual. */
  migration: string | null;
}

export const noteOf = (template: string) => `${template.replace(/\.tar\.gz$/, "")}.json`;

/**
 * The template's path when there is one this PGlite can use, holding no migration unknown to
 * `migrations` (the tags of drizzle/'s journal); null otherwise.
 */
export function usableTemplate(template: string, migrations: string[]): string | null {
  if (!existsSync(template) || !existsSync(noteOf(template))) return null;
  try {
    const note = JSON.parse(readFileSync(noteOf(template), "utf8")) as TemplateNote;
    const known = note.migration === null || migrations.includes(note.migration);
    return note.pglite === pgliteVersion() && known ? template : null;
  } catch {
    return null;
  }
}

/**
 * Unpacks the template into `dir` (created; expected empty). Synchronous calls: a thousand small
 * files, one after another, cost a fraction of what as many promises would.
 */
export function unpackTemplate(template: string, dir: string): void {
  const archive = gunzipSync(readFileSync(template));
  const made = new Set<string>();
  const directory = (path: string) => {
    if (made.has(path)) return;
    mkdirSync(path, { recursive: true, mode: 0o700 });
    made.add(path);
  };
  directory(dir);
  for (const entry of tarEntries(archive)) {
    const path = join(dir, entry.name);
    if (entry.directory) directory(path);
    else {
      directory(dirname(path));
      writeFileSync(path, entry.content, { mode: 0o600 });
    }
  }
}

interface TarEntry {
  name: string;
  directory: boolean;
  content: Buffer;
}

/** The entries of a ustar archive, as PGlite writes them: directories and regular files only. */
function* tarEntries(archive: Buffer): Generator<TarEntry> {
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return;
    const field = (start: number, length: number) =>
      header.toString("utf8", start, start + length).replace(/\0.*$/s, "");
    const prefix = header.toString("utf8", 257, 262) === "ustar" ? field(345, 155) : "";
    const name = normalize([prefix, field(0, 100)].filter(Boolean).join("/")).replace(/^[/\\]+/, "");
    const size = Number.parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1) || "0";
    if (name.split(sep).includes(".."))
      throw new Error(`the embedded database template names a file outside it: ${name}`);
    if (type !== "0" && type !== "5") throw new Error(`the embedded database template holds an entry of type ${type}`);
    const start = offset + 512;
    if (name) yield { name, directory: type === "5", content: archive.subarray(start, start + size) };
    offset = start + Math.ceil(size / 512) * 512;
  }
}

export function pgliteVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
}
