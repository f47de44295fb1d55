/** Who is to hold what, as a target sees it. Names, not ids: targets know logins and roles. */
export interface Holding {
  /** The principal's login on the target (by default their email). */
  login: string;
  principalKey: string;
  roleKey: string;
  scope: string;
}

export interface GrantRequest extends Holding {
  until: Date | null;
  activationId: string | null;
  /** Stable for every attempt of one job, so a receiver can drop repeats. */
  idempotencyKey: string;
}

export interface RevokeRequest extends Holding {
  activationId: string | null;
  idempotencyKey: string;
}

/**
 * The outcome of one attempt. `retryable` failures (a target down, a timeout) are tried again
 * with backoff; `permanent` ones (refused by the target, bad configuration) are not retried for grants.
 */
export type ConnectorResult = { ok: true; detail?: string } | { ok: false; retryable: boolean; error: string };

export interface Connector {
  readonly type: string;
  /** Idempotent: granting what is already held is success. */
  grant(req: GrantRequest): Promise<ConnectorResult>;
  /** Idempotent: revoking what is not held is success. */
  revoke(req: RevokeRequest): Promise<ConnectorResult>;
  /** Who holds what on the target now, for drift detection; undefined when the target cannot tell. */
  list(): Promise<Holding[] | undefined>;
}

export const retryable = (error: string): ConnectorResult => ({ ok: false, retryable: true, error });
export const permanent = (error: string): ConnectorResult => ({ ok: false, retryable: false, error });
