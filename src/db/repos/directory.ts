import { and, eq, inArray, isNull, or, type SQL, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { HeldAssignment } from "../../domain/eligibility.js";
import { BUILT_IN_POLICY, type Policy, type PolicyOverride, resolvePolicy } from "../../domain/policy.js";
import { type Executor, resultRows } from "../client.js";
import { directoryCacheOf } from "../directory-cache.js";

export { resultRows };

import { assignments } from "../schema/assignments.js";
import { directoryVersion } from "../schema/directory-version.js";
import { groupMembers, principals } from "../schema/principals.js";
import { policies, roles, settings } from "../schema/roles.js";
import { type GroupRole, heldThroughMembership, loadGroupRoles } from "./group-access.js";

export type Principal = typeof principals.$inferSelect;
export type RoleRow = typeof roles.$inferSelect;
export interface Role extends RoleRow {
  policy: Policy;
}

/**
 * Principals, groups, roles and policies are read in every use case but change only through
 * apply. Inside a transaction, each is read once. Across transactions, what was read is kept
 * under the directory's version (a row a trigger renews with every write to those tables, in the
 * writing transaction): a transaction reads the version, once, and takes what is kept under it.
 * Data kept under a version is never older than that version, so a transaction never sees a
 * directory older than the version it read. Outside a transaction nothing is kept.
 * Kept values are frozen and shared: callers get copies of collections, never the kept ones.
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

function versionOf(tx: Executor): Promise<string | undefined> {
  return once(tx, "directory:version", async () => {
    const [row] = resultRows<{ version: string }>(
      await tx.execute(sql`select version from ${directoryVersion} where id = 1`),
    );
    return row?.version;
  });
}

/**
 * Asks for the directory's version without waiting, at the start of a transaction, so that the
 * question travels with BEGIN and the transaction's first statement instead of on its own.
 */
export function prefetchDirectoryVersion(tx: Executor): void {
  versionOf(tx).catch(() => {}); // a failure reaches whoever reads the version
}

/** `load` once per transaction and, inside transactions, once per directory version. */
function remembered<T>(tx: Executor, key: string, load: () => Promise<T>): Promise<T> {
  if (!(tx instanceof PgTransaction)) return load();
  return once(tx, key, async () => {
    const cache = directoryCacheOf(tx);
    const version = cache && (await versionOf(tx));
    if (!cache || version === undefined) return load();
    if (cache.has(version, key)) return cache.get<T>(version, key)!;
    const value = deepFreeze(await load());
    cache.keep(version, key, value);
    return value;
  });
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  if (value instanceof Date) return value;
  if (value instanceof Map || value instanceof Set) {
    for (const item of value.values()) deepFreeze(item);
    return Object.freeze(value);
  }
  for (const item of Object.values(value)) deepFreeze(item);
  return Object.freeze(value);
}

/** A principal by id; frozen. */
export async function principalById(tx: Executor, id: string): Promise<Principal | undefined> {
  return remembered(tx, `principal:${id}`, async () => {
    const [row] = await tx.select().from(principals).where(eq(principals.id, id));
    return row;
  });
}

/** Principals by id as the transaction sees them now, never from what is kept per version. */
export async function principalsNow(tx: Executor, ids: string[]): Promise<Map<string, Principal>> {
  if (ids.length === 0) return new Map();
  const rows = await tx
    .select()
    .from(principals)
    .where(inArray(principals.id, [...new Set(ids)]));
  return new Map(rows.map((r) => [r.id, r]));
}

export async function principalByKey(tx: Executor, key: string): Promise<Principal | undefined> {
  const [row] = await tx.select().from(principals).where(eq(principals.key, key));
  return row;
}

/** Principals by key as the transaction sees them now; no statement for no keys. */
export async function principalsByKeys(tx: Executor, keys: string[]): Promise<Principal[]> {
  if (keys.length === 0) return [];
  return tx.select().from(principals).where(inArray(principals.key, keys));
}

/** Principals by id (frozen), in one read for those not already kept. */
export async function principalsByIds(tx: Executor, ids: string[]): Promise<Map<string, Principal>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const load = async (wanted: string[]) => {
    const rows = await tx.select().from(principals).where(inArray(principals.id, wanted));
    return new Map(rows.map((r) => [r.id, r]));
  };
  const cache = tx instanceof PgTransaction ? directoryCacheOf(tx) : undefined;
  if (!cache || unique.length > 50) return load(unique);
  const version = await versionOf(tx);
  const kept = (id: string) => version !== undefined && cache.has(version, `principal:${id}`);
  const missing = unique.filter((id) => !kept(id));
  const loaded = missing.length > 0 ? await load(missing) : new Map<string, Principal>();
  const found = new Map<string, Principal>();
  for (const id of unique) {
    const row = missing.includes(id) ? loaded.get(id) : cache.get<Principal>(version!, `principal:${id}`);
    if (version !== undefined && missing.includes(id)) cache.keep(version, `principal:${id}`, deepFreeze(row));
    if (row) found.set(id, row);
  }
  return found;
}

/** Principals' keys by id, read as principalsByIds reads them. */
export async function principalKeys(tx: Executor, ids: string[]): Promise<Map<string, string>> {
  const found = await principalsByIds(tx, ids);
  return new Map([...found].map(([id, p]) => [id, p.key]));
}

/** Principals' keys by id as the transaction sees them now, never from what is kept per version. */
export async function principalKeysNow(tx: Executor, ids: string[]): Promise<Map<string, string>> {
  const rows = await tx
    .select({ id: principals.id, key: principals.key })
    .from(principals)
    .where(inArray(principals.id, ids));
  return new Map(rows.map((p) => [p.id, p.key]));
}

export type ChatPlatformName = "slack" | "teams";

const platformColumn = (platform: ChatPlatformName) => (platform === "slack" ? principals.slackId : principals.teamsId);

/** The active user a platform's verified id belongs to: the only way a chat identity is known. */
export async function principalByPlatformId(
  tx: Executor,
  platform: ChatPlatformName,
  platformId: string,
): Promise<Principal | undefined> {
  const [row] = await tx
    .select()
    .from(principals)
    .where(and(eq(platformColumn(platform), platformId), eq(principals.kind, "user"), isNull(principals.retiredAt)));
  return row;
}

/**
 * The active user with this e-mail address who has no id on the platform yet: the only kind of
 * principal an e-mail may be linked to. Someone who already has an id there is that id, nobody else.
 */
export async function linkablePrincipalByEmail(
  tx: Executor,
  platform: ChatPlatformName,
  email: string,
): Promise<Principal | undefined> {
  const [row] = await tx
    .select()
    .from(principals)
    .where(
      and(
        sql`lower(${principals.email}) = lower(${email})`,
        eq(principals.kind, "user"),
        isNull(principals.retiredAt),
        isNull(platformColumn(platform)),
      ),
    );
  return row;
}

/** The user with this e-mail address (any case), whether or not they have platform ids. */
export async function userByEmail(tx: Executor, email: string): Promise<Principal | undefined> {
  const [row] = await tx
    .select()
    .from(principals)
    .where(and(sql`lower(${principals.email}) = lower(${email})`, eq(principals.kind, "user")));
  return row;
}

/** Records a platform id on a principal that had none; undefined when someone got there first. */
export async function linkPlatformId(
  tx: Executor,
  principalId: string,
  platform: ChatPlatformName,
  platformId: string,
  at: Date,
): Promise<Principal | undefined> {
  const set =
    platform === "slack" ? { slackId: platformId, slackLinkedAt: at } : { teamsId: platformId, teamsLinkedAt: at };
  const [row] = await tx
    .update(principals)
    .set(set)
    .where(and(eq(principals.id, principalId), isNull(platformColumn(platform))))
    .returning();
  return row;
}

/** Every group a principal belongs to, directly or through nested groups. */
export async function groupsOf(tx: Executor, principalId: string): Promise<string[]> {
  return [...(await remembered(tx, `groups:${principalId}`, () => loadGroupsOf(tx, principalId)))];
}

async function loadGroupsOf(tx: Executor, principalId: string): Promise<string[]> {
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
  const key = `users:${[...new Set(principalIds)].sort().join(",")}`;
  return new Set(await remembered(tx, key, () => loadUsers(tx, principalIds)));
}

async function loadUsers(tx: Executor, principalIds: string[]): Promise<Set<string>> {
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
  const ids = await remembered(tx, `ids:${[...new Set(keys)].sort().join(",")}`, async () => {
    const rows = await tx.select({ id: principals.id }).from(principals).where(inArray(principals.key, keys));
    return rows.map((r) => r.id);
  });
  return [...ids];
}

export async function adminIds(tx: Executor): Promise<Set<string>> {
  const ids = await remembered(tx, "admins", async () => {
    const rows = await tx
      .select({ id: principals.id })
      .from(principals)
      .where(and(eq(principals.admin, true), isNull(principals.retiredAt)));
    return rows.map((r) => r.id);
  });
  return new Set(ids);
}

/**
 * Assignments that apply to a user: their own, those of every group they are in, and those of
 * privileged groups they are an active member of, for as long as the membership lasts. `fresh`
 * reads group membership as the transaction sees it now, for a transaction that just changed it.
 */
export async function heldAssignments(
  tx: Executor,
  userId: string,
  roleIds?: string[],
  fresh = false,
): Promise<HeldAssignment[]> {
  const groups = fresh ? await loadGroupsOf(tx, userId) : await groupsOf(tx, userId);
  const holders = [userId, ...groups];
  const rows = await tx
    .select()
    .from(assignments)
    .where(and(inArray(assignments.principalId, holders), roleIds ? inArray(assignments.roleId, roleIds) : undefined));
  const own = rows.map((r) => ({
    id: r.id,
    roleId: r.roleId,
    scope: r.scope,
    kind: r.kind,
    startsAt: r.startsAt,
    endsAt: r.endsAt,
    viaGroupId: r.principalId === userId ? null : r.principalId,
  }));
  const parentsOf = (groupId: string) => (fresh ? loadGroupsOf(tx, groupId) : groupsOf(tx, groupId));
  return [...own, ...(await heldThroughMembership(tx, await groupRoleList(tx), userId, roleIds, parentsOf))];
}

/**
 * The roles standing for membership and ownership of privileged groups (PIM for Groups); an
 * empty list, the usual case, spares every membership read its round trip.
 */
export async function groupRoleList(tx: Executor): Promise<GroupRole[]> {
  return [...(await remembered(tx, "group-roles", () => loadGroupRoles(tx)))];
}

export async function defaultsPolicy(tx: Executor): Promise<PolicyOverride | undefined> {
  return remembered(tx, "policy:defaults", async () => {
    const [row] = await tx.select().from(policies).where(isNull(policies.roleId));
    return row?.settings;
  });
}

export async function rolesByIds(tx: Executor, ids: string[]): Promise<Map<string, Role>> {
  const unique = [...new Set(ids)].sort();
  if (unique.length === 0) return new Map();
  return new Map(await remembered(tx, `roles:${unique.join(",")}`, () => loadRoles(tx, inArray(roles.id, unique))));
}

/** The little the outbox worker needs to know of a role: its key and where its grants go. */
export interface RoleTarget {
  id: string;
  key: string;
  connector: Record<string, unknown>;
}

/** Inside a transaction these come from what is kept per directory version, as rolesByIds. */
export async function roleTargets(tx: Executor, ids: string[]): Promise<Map<string, RoleTarget>> {
  return rolesByIds(tx, ids);
}

/** Every role, retired ones too, as a target sees it. */
export async function allRoleTargets(tx: Executor): Promise<RoleTarget[]> {
  return tx.select({ id: roles.id, key: roles.key, connector: roles.connector }).from(roles);
}

export async function allRoles(tx: Executor): Promise<Role[]> {
  return [...(await loadRoles(tx, isNull(roles.retiredAt))).values()];
}

/** A holder's and a role's display names, by id; an id no longer in the directory names itself. */
export async function holderAndRoleNames(
  tx: Executor,
  principalId: string,
  roleId: string,
): Promise<{ holderName: string; roleName: string }> {
  const [holder, roles] = await Promise.all([principalById(tx, principalId), rolesByIds(tx, [roleId])]);
  return { holderName: holder?.name ?? principalId, roleName: roles.get(roleId)?.name ?? roleId };
}

/** Ids of the roles with these keys (retired ones too). */
export async function roleIdsByKeys(tx: Executor, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  const rows = await tx.select({ id: roles.id }).from(roles).where(inArray(roles.key, keys));
  return rows.map((r) => r.id);
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
