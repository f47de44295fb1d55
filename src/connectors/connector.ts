/** Who is to hold what, as a target sees it. Names, not ids: targets know logins and roles. */
export interface Holding {
  /** The principal's login on the target (by default their principal key). */
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
  /**
   * Aborted when the worker has given up on the call (its deadline passed). A connector must not
   * start a change on the target after that: its result would no longer be recorded.
   */
  signal?: AbortSignal;
}

export interface RevokeRequest extends Holding {
  activationId: string | null;
  idempotencyKey: string;
  signal?: AbortSignal;
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
  /**
   * Optional, for targets that can do many in one round trip: the same as calling `grant` for
   * each, one result per request, in order. The worker uses it when a batch has several.
   */
  grantMany?(reqs: GrantRequest[]): Promise<ConnectorResult[]>;
  /** Optional: the same as calling `revoke` for each, one result per request, in order. */
  revokeMany?(reqs: RevokeRequest[]): Promise<ConnectorResult[]>;
  /**
   * What one holding is on the target. Two holdings with the same key are one grant there, so
   * neither may be revoked while the other is still needed. A target that ignores scopes (a
   * PostgreSQL role membership) leaves the scope out. Default: login, role and scope.
   */
  targetKey?(holding: Pick<Holding, "login" | "roleKey" | "scope">): string;
  /** Releases connections; called once at shutdown. */
  close?(): Promise<void>;
}

export const retryable = (error: string): ConnectorResult => ({ ok: false, retryable: true, error });
export const permanent = (error: string): ConnectorResult => ({ ok: false, retryable: false, error });

export function targetKeyOf(connector: Connector, holding: Pick<Holding, "login" | "roleKey" | "scope">): string {
  return connector.targetKey
    ? connector.targetKey(holding)
    : `${holding.login}\u0000${holding.roleKey}\u0000${holding.scope}`;
}

/** The login a principal has on targets: its key, which pim.yaml keeps to [a-z0-9._-]. */
export const loginOf = (principal: { key: string }): string => principal.key;
