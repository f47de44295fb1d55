/**
 * What applying pim.yaml reads and writes: principals and group memberships, scopes, roles and
 * their policies, the assignments the file declares, and settings.
 */
import { and, eq } from "drizzle-orm";
import type { Executor } from "../client.js";
import { assignments } from "../schema/assignments.js";
import { groupMembers, principals } from "../schema/principals.js";
import { policies, roles, scopes, settings } from "../schema/roles.js";
import type { AssignmentRow } from "./assignments.js";
import type { Principal, RoleRow } from "./directory.js";

export type NewPrincipal = typeof principals.$inferInsert;
export type Membership = typeof groupMembers.$inferSelect;
export type ScopeRow = typeof scopes.$inferSelect;
export type NewRole = typeof roles.$inferInsert;
export type PolicyRow = typeof policies.$inferSelect;
export type NewPolicy = typeof policies.$inferInsert;
export type NewAssignment = typeof assignments.$inferInsert;
export type SettingRow = typeof settings.$inferSelect;

// ── principals and groups ───────────────────────────────────────────────────────────────────

export async function allPrincipals(tx: Executor): Promise<Principal[]> {
  return tx.select().from(principals);
}

export async function insertPrincipal(tx: Executor, row: NewPrincipal): Promise<void> {
  await tx.insert(principals).values(row);
}

export async function updatePrincipal(tx: Executor, id: string, changes: Partial<NewPrincipal>): Promise<void> {
  await tx.update(principals).set(changes).where(eq(principals.id, id));
}

/** A retired principal keeps its history but no longer administers, breaks glass or has a manager. */
export async function retirePrincipal(tx: Executor, id: string, at: Date): Promise<void> {
  await tx
    .update(principals)
    .set({ retiredAt: at, admin: false, breakGlass: false, managerId: null })
    .where(eq(principals.id, id));
}

export async function setManager(tx: Executor, id: string, managerId: string | null): Promise<void> {
  await tx.update(principals).set({ managerId }).where(eq(principals.id, id));
}

export async function allMemberships(tx: Executor): Promise<Membership[]> {
  return tx.select().from(groupMembers);
}

export async function insertMembership(tx: Executor, m: Membership): Promise<void> {
  await tx.insert(groupMembers).values(m);
}

export async function deleteMembership(tx: Executor, m: Membership): Promise<void> {
  await tx
    .delete(groupMembers)
    .where(
      and(
        eq(groupMembers.groupId, m.groupId),
        eq(groupMembers.memberId, m.memberId),
        eq(groupMembers.relation, m.relation),
      ),
    );
}

// ── scopes, roles and policies ──────────────────────────────────────────────────────────────

export async function allScopes(tx: Executor): Promise<ScopeRow[]> {
  return tx.select().from(scopes);
}

export async function insertScope(tx: Executor, scope: ScopeRow): Promise<void> {
  await tx.insert(scopes).values(scope);
}

export async function renameScope(tx: Executor, path: string, name: string): Promise<void> {
  await tx.update(scopes).set({ name }).where(eq(scopes.path, path));
}

export async function deleteScope(tx: Executor, path: string): Promise<void> {
  await tx.delete(scopes).where(eq(scopes.path, path));
}

/** Every role, retired ones too. */
export async function allRoleRows(tx: Executor): Promise<RoleRow[]> {
  return tx.select().from(roles);
}

export async function insertRole(tx: Executor, row: NewRole): Promise<void> {
  await tx.insert(roles).values(row);
}

export async function updateRole(tx: Executor, id: string, changes: Partial<NewRole>): Promise<void> {
  await tx.update(roles).set(changes).where(eq(roles.id, id));
}

export async function retireRole(tx: Executor, id: string, at: Date): Promise<void> {
  await tx.update(roles).set({ retiredAt: at }).where(eq(roles.id, id));
}

export async function allPolicies(tx: Executor): Promise<PolicyRow[]> {
  return tx.select().from(policies);
}

export async function insertPolicy(tx: Executor, row: NewPolicy): Promise<void> {
  await tx.insert(policies).values(row);
}

export async function setPolicySettings(tx: Executor, id: string, value: PolicyRow["settings"]): Promise<void> {
  await tx.update(policies).set({ settings: value }).where(eq(policies.id, id));
}

// ── declared assignments ───────────────────────────────────────────────────────────────────────

/** The assignments pim.yaml made (source "file"); those made from chat are not the file's. */
export async function declaredAssignments(tx: Executor): Promise<AssignmentRow[]> {
  return tx.select().from(assignments).where(eq(assignments.source, "file"));
}

export async function insertDeclaredAssignment(tx: Executor, row: NewAssignment): Promise<void> {
  await tx.insert(assignments).values(row);
}

export async function updateAssignment(tx: Executor, id: string, changes: Partial<NewAssignment>): Promise<void> {
  await tx.update(assignments).set(changes).where(eq(assignments.id, id));
}

/** Grant and revoke jobs still pending that belong to no activation (assignments' holdings). */
// ── settings ────────────────────────────────────────────────────────────────────────────────

export async function allSettings(tx: Executor): Promise<SettingRow[]> {
  return tx.select().from(settings);
}

export async function saveSetting(tx: Executor, key: string, value: unknown): Promise<void> {
  await tx.insert(settings).values({ key, value }).onConflictDoUpdate({ target: settings.key, set: { value } });
}
