import type { EngineEvent, EventSink } from "./events.js";

export type Subscriber = (event: EngineEvent) => void | Promise<void>;

/**
 * Fans engine events out to whoever listens (the scheduler, chat notifiers, metrics). A failing
 * listener is reported, never allowed to break the use case that published the event.
 */
export class EventBus implements EventSink {
  private readonly subscribers: Subscriber[] = [];
  constructor(private readonly onError: (error: unknown, event: EngineEvent) => void) {}

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.push(subscriber);
    return () => {
      const i = this.subscribers.indexOf(subscriber);
      if (i >= 0) this.subscribers.splice(i, 1);
    };
  }

  publish(event: EngineEvent): void {
    for (const subscriber of this.subscribers) {
      try {
        const result = subscriber(event);
        if (result instanceof Promise) result.catch((error) => this.onError(error, event));
      } catch (error) {
        this.onError(error, event);
      }
    }
  }
}
