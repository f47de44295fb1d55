/**
 * Scopes are slash-separated paths: "/", "/mg/prod", "/mg/prod/sub/billing".
 * An assignment at a scope covers that scope and every scope below it.
 */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;

export function isValidScope(path: string): boolean {
  if (path === "/") return true;
  if (!path.startsWith("/") || path.endsWith("/")) return false;
  return path
    .slice(1)
    .split("/")
    .every((segment) => SEGMENT.test(segment));
}

export function scopeCovers(assigned: string, requested: string): boolean {
  if (assigned === "/" || assigned === requested) return true;
  return requested.startsWith(`${assigned}/`);
}

/** The narrower of two scopes when one covers the other, else undefined. */
export function narrowerScope(a: string, b: string): string | undefined {
  if (scopeCovers(a, b)) return b;
  if (scopeCovers(b, a)) return a;
  return undefined;
}
