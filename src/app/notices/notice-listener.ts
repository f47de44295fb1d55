import type { EngineEvent } from "../kernel/events.js";
import type { EngineDeps } from "../kernel/unit-of-work.js";
import type { Delivery } from "./delivery.js";

/**
 * What tells people of the engine's events once they have committed: each event it cares about
 * starts work in the background, a failure goes to `onError` and never to the use case that
 * published it, and `idle()` waits for all of it (tests, graceful shutdown).
 */
export abstract class NoticeListener {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    protected readonly deps: Pick<EngineDeps, "db" | "clock">,
    protected readonly delivery: Delivery,
    private readonly onError: (error: unknown) => void,
  ) {}

  readonly onEvent = (event: EngineEvent): void => {
    const work = this.handle(event);
    if (!work) return;
    const tracked = work.catch(this.onError);
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  };

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** The work an event starts, or null when this listener has nothing to do with it. */
  protected abstract handle(event: EngineEvent): Promise<void> | null;
}
