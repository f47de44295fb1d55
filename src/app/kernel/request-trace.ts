import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The id of the inbound HTTP request being served (a Slack or Teams event, a page), carried through
 * everything it starts, so that the grant or revoke it leads to names it in the outbox job, the
 * worker's log lines and the connector's audit event: one id from the click to the target call.
 */
const current = new AsyncLocalStorage<string>();

export function withRequestId<T>(requestId: string, fn: () => T): T {
  return current.run(requestId, fn);
}

/** The id of the request this work was started by, when it was started by one. */
export function currentRequestId(): string | undefined {
  return current.getStore();
}
