import { err, ok, type Result } from "../domain/result.js";

/** PostgreSQL truncates longer names silently (NAMEDATALEN - 1); we refuse them instead. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Checks a role or login name against what PostgreSQL can store as a quoted identifier, so the
 * statement names exactly the role we mean and never one truncated or cut at a NUL byte.
 */
export function checkIdentifier(name: string, what: string): Result<string, string> {
  if (name.length === 0) return err(`the ${what} name is empty`);
  if (name.includes("\u0000")) return err(`the ${what} name contains a NUL character`);
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > MAX_IDENTIFIER_BYTES)
    return err(`the ${what} name "${name}" is ${bytes} bytes long; PostgreSQL allows at most ${MAX_IDENTIFIER_BYTES}`);
  return ok(name);
}

/** Identifier quoting as PostgreSQL's quote_ident does it: wrap in double quotes, double every one inside. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
