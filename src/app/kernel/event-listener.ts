import type { EngineEvent } from "./events.js";

/**
 * What acts on the engine's events once they have committed (notices, redraws, alerts): each
 * event it cares about starts work in the background, a failure goes to `onError` and never to
 * the use case that published it, and `idle()` waits for all of it (tests, graceful shutdown).
 */
export abstract class EventListener {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly onError: (error: unknown) => void) {}

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
