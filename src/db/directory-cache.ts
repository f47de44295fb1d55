/** Directory versions whose reads are kept (several: one process may serve several databases). */
const KEPT_VERSIONS = 4;
/** Entries kept per version before starting afresh, so that memory stays bounded. */
const KEPT_ENTRIES = 100_000;

/**
 * Principals, groups, roles and policies as read under a directory version (see
 * src/db/repos/directory.ts). One is built in composition and handed to every unit of work of
 * the process; a transaction run outside a unit keeps nothing across transactions.
 */
export class DirectoryCache {
  private readonly kept = new Map<string, Map<string, unknown>>();

  has(version: string, key: string): boolean {
    return this.kept.get(version)?.has(key) ?? false;
  }

  get<T>(version: string, key: string): T | undefined {
    return this.kept.get(version)?.get(key) as T | undefined;
  }

  keep(version: string, key: string, value: unknown): void {
    let entries = this.kept.get(version);
    if (!entries || entries.size >= KEPT_ENTRIES) {
      this.kept.delete(version);
      entries = new Map();
      this.kept.set(version, entries);
      for (const old of this.kept.keys()) if (this.kept.size > KEPT_VERSIONS) this.kept.delete(old);
    }
    entries.set(key, value);
  }
}

const attached = new WeakMap<object, DirectoryCache>();

/** Lets the transaction's directory reads use `cache` across transactions (see DirectoryCache). */
export function useDirectoryCache(tx: object, cache: DirectoryCache): void {
  attached.set(tx, cache);
}

export function directoryCacheOf(tx: object): DirectoryCache | undefined {
  return attached.get(tx);
}
