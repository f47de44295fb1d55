import { scopeCovers } from "./scope.js";

/** An assignment as it applies to one user: held directly, or through a group they belong to. */
export interface HeldAssignment {
  id: string;
  roleId: string;
  scope: string;
  kind: "eligible" | "active";
  startsAt: Date | null;
  endsAt: Date | null;
  /** The group through which the user holds it, or null when it is theirs directly. */
  viaGroupId: string | null;
}

export type EligibilityVerdict =
  | { kind: "eligible"; assignment: HeldAssignment }
  | { kind: "already_active"; assignment: HeldAssignment }
  | { kind: "not_started"; startsAt: Date }
  | { kind: "expired"; endedAt: Date }
  | { kind: "none" };

export function isInForce(a: Pick<HeldAssignment, "startsAt" | "endsAt">, now: Date): boolean {
  return (a.startsAt === null || a.startsAt <= now) && (a.endsAt === null || now < a.endsAt);
}

/**
 * Decides whether a user may activate a role at a scope now. An active assignment in force means
 * there is nothing to activate; among eligible ones the longest-lasting in force wins, so the
 * activation may run as long as possible.
 */
export function evaluateEligibility(
  held: HeldAssignment[],
  roleId: string,
  scope: string,
  now: Date,
): EligibilityVerdict {
  const covering = held.filter((a) => a.roleId === roleId && scopeCovers(a.scope, scope));
  const active = covering.find((a) => a.kind === "active" && isInForce(a, now));
  if (active) return { kind: "already_active", assignment: active };
  const eligible = covering.filter((a) => a.kind === "eligible");
  const inForce = eligible.filter((a) => isInForce(a, now)).sort(byLatestEnd);
  if (inForce[0]) return { kind: "eligible", assignment: inForce[0] };
  const future = eligible
    .filter((a) => a.startsAt !== null && a.startsAt > now)
    .sort((x, y) => +x.startsAt! - +y.startsAt!);
  if (future[0]) return { kind: "not_started", startsAt: future[0].startsAt! };
  const past = eligible.filter((a) => a.endsAt !== null && a.endsAt <= now).sort(byLatestEnd);
  if (past[0]) return { kind: "expired", endedAt: past[0].endsAt! };
  return { kind: "none" };
}

function byLatestEnd(x: HeldAssignment, y: HeldAssignment): number {
  if (x.endsAt === null) return -1;
  if (y.endsAt === null) return 1;
  return +y.endsAt - +x.endsAt;
}
