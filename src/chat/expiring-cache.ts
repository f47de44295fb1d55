import type { Clock } from "../app/kernel/clock.js";

/**
 * What a platform told about its users (a verified email, a resolved principal), kept by key for
 * a while. A lookup that fails is not kept, so it is asked again next time.
 */
export class ExpiringCache<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** The value kept for `key`, unless it has expired (wrapped, so that a kept null is told apart from nothing). */
  kept(key: string): { value: T } | undefined {
    const entry = this.entries.get(key);
    return entry && entry.until > this.clock.now().getTime() ? { value: entry.value } : undefined;
  }

  set(key: string, value: T): void {
    this.entries.set(key, { value, until: this.clock.now().getTime() + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The kept value, or the one `load` finds now, kept from now on; a load that throws keeps nothing. */
  async get(key: string, load: () => Promise<T>): Promise<T> {
    const kept = this.kept(key);
    if (kept) return kept.value;
    const value = await load();
    this.set(key, value);
    return value;
  }
}
