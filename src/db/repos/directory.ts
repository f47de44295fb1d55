import { and, eq, inArray, isNull, or, type SQL, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { HeldAssignment } from "../../domain/eligibility.js";
import { BUILT_IN_POLICY, type Policy, type PolicyOverride, resolvePolicy } from "../../domain/policy.js";
import { type Executor, resultRows } from "../client.js";

export { resultRows };

import { assignments } from "../schema/assignments.js";
import { groupMembers, principals } from "../schema/principals.js";
import { policies, roles, settings } from "../schema/roles.js";

export type Principal = typeof principals.$inferSelect;
export type RoleRow = typeof roles.$inferSelect;
export interface Role extends RoleRow {
  policy: Policy;
}

/**
 * Principals and roles are read many times in one use case (names for every audit event) but
 * change only through apply. Inside a transaction they are read once; outside one, every time.
 */
const perTransaction = new WeakMap<object, Map<string, Promise<unknown>>>();

function once<T>(tx: Executor, key: string, load: () => Promise<T>): Promise<T> {
  if (!(tx instanceof PgTransaction)) return load();
  const cache = perTransaction.get(tx) ?? new Map<string, Promise<unknown>>();
  perTransaction.set(tx, cache);
  const hit = (cache.get(key) as Promise<T> | undefined) ?? load();
  cache.set(key, hit);
  return hit;
}

export async function principalById(tx: Executor, id: string): Promise<Principal | undefined> {
  return once(tx, `principal:${id}`, async () => {
    const [row] = await tx.select().from(principals).where(eq(principals.id, id));
    return row;
  });
}

export async function principalByKey(tx: Executor, key: string): Promise<Principal | undefined> {
  const [row] = await tx.select().from(principals).where(eq(principals.key, key));
  return row;
}

export async function principalsByIds(tx: Executor, ids: string[]): Promise<Map<string, Principal>> {
  if (ids.length === 0) return new Map();
  const rows = await tx
    .select()
    .from(principals)
    .where(inArray(principals.id, [...new Set(ids)]));
  return new Map(rows.map((r) => [r.id, r]));
}

/** A chat identity, by platform id first and by email second. */
export async function principalByChatIdentity(
  tx: Executor,
  identity: { slackId?: string; teamsId?: string; email?: string | null },
): Promise<Principal | undefined> {
  const byId = identity.slackId
    ? eq(principals.slackId, identity.slackId)
    : identity.teamsId
      ? eq(principals.teamsId, identity.teamsId)
      : undefined;
  if (byId) {
    const [row] = await tx
      .select()
      .from(principals)
      .where(and(byId, eq(principals.kind, "user"), isNull(principals.retiredAt)));
    if (row) return row;
  }
  if (!identity.email) return undefined;
  const [row] = await tx
    .select()
    .from(principals)
    .where(
      and(
        sql`lower(${principals.email}) = lower(${identity.email})`,
        eq(principals.kind, "user"),
        isNull(principals.retiredAt),
      ),
    );
  return row;
}

/** Every group a principal belongs to, directly or through nested groups. */
export async function groupsOf(tx: Executor, principalId: string): Promise<string[]> {
  const rows = await tx.execute<{ id: string }>(sql`
    with recursive g(id) as (
      select group_id from ${groupMembers} where member_id = ${principalId} and relation = 'member'
      union
      select gm.group_id from ${groupMembers} gm join g on gm.member_id = g.id where gm.relation = 'member'
    ) select id from g`);
  return resultRows<{ id: string }>(rows).map((r) => r.id);
}

/** The users a set of principal ids stands for: users as themselves, groups expanded to their members. */
export async function expandToUsers(tx: Executor, principalIds: string[]): Promise<Set<string>> {
  if (principalIds.length === 0) return new Set();
  const list = sql.join(
    principalIds.map((id) => sql`${id}`),
    sql`, `,
  );
  const rows = await tx.execute<{ id: string }>(sql`
    with recursive m(id) as (
      select id from ${principals} where id in (${list})
      union
      select gm.member_id from ${groupMembers} gm join m on gm.group_id = m.id where gm.relation = 'member'
    ) select m.id from m join ${principals} p on p.id = m.id where p.kind = 'user'`);
  return new Set(resultRows<{ id: string }>(rows).map((r) => r.id));
}

export async function principalIdsByKeys(tx: Executor, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  const rows = await tx.select({ id: principals.id }).from(principals).where(inArray(principals.key, keys));
  return rows.map((r) => r.id);
}

export async function adminIds(tx: Executor): Promise<Set<string>> {
  const rows = await tx
    .select({ id: principals.id })
    .from(principals)
    .where(and(eq(principals.admin, true), isNull(principals.retiredAt)));
  return new Set(rows.map((r) => r.id));
}

/** Assignments that apply to a user: their own and those of every group they are in. */
export async function heldAssignments(tx: Executor, userId: string, roleIds?: string[]): Promise<HeldAssignment[]> {
  const groups = await groupsOf(tx, userId);
  const holders = [userId, ...groups];
  const rows = await tx
    .select()
    .from(assignments)
    .where(and(inArray(assignments.principalId, holders), roleIds ? inArray(assignments.roleId, roleIds) : undefined));
  return rows.map((r) => ({
    id: r.id,
    roleId: r.roleId,
    scope: r.scope,
    kind: r.kind,
    startsAt: r.startsAt,
    endsAt: r.endsAt,
    viaGroupId: r.principalId === userId ? null : r.principalId,
  }));
}

export async function defaultsPolicy(tx: Executor): Promise<PolicyOverride | undefined> {
  return once(tx, "policy:defaults", async () => {
    const [row] = await tx.select().from(policies).where(isNull(policies.roleId));
    return row?.settings;
  });
}

export async function rolesByIds(tx: Executor, ids: string[]): Promise<Map<string, Role>> {
  const unique = [...new Set(ids)].sort();
  if (unique.length === 0) return new Map();
  return once(tx, `roles:${unique.join(",")}`, () => loadRoles(tx, inArray(roles.id, unique)));
}

export async function allRoles(tx: Executor): Promise<Role[]> {
  return [...(await loadRoles(tx, isNull(roles.retiredAt))).values()];
}

export async function roleByKeyOrName(tx: Executor, text: string): Promise<Role | undefined> {
  const found = await loadRoles(
    tx,
    and(isNull(roles.retiredAt), or(eq(roles.key, text), sql`lower(${roles.name}) = lower(${text})`)),
  );
  return [...found.values()][0];
}

async function loadRoles(tx: Executor, where: SQL | undefined): Promise<Map<string, Role>> {
  const rows = await tx
    .select({ role: roles, override: policies.settings })
    .from(roles)
    .leftJoin(policies, eq(policies.roleId, roles.id))
    .where(where)
    .orderBy(roles.name);
  const defaults = await defaultsPolicy(tx);
  return new Map(
    rows.map(({ role, override }) => [
      role.id,
      { ...role, policy: resolvePolicy(BUILT_IN_POLICY, defaults, override ?? undefined) },
    ]),
  );
}

export async function getSetting<T>(tx: Executor, key: string): Promise<T | undefined> {
  const [row] = await tx.select().from(settings).where(eq(settings.key, key));
  return row?.value as T | undefined;
}
