/** Splits a list for statements with one parameter (or one JSON document) per batch. */
export function chunks<T>(items: T[], size = 5_000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
