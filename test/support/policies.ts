/** Small pim.yaml texts for connector and outbox tests, with targets known only at run time. */

export function webhookPolicy(url: string, options: { timeout?: string; users?: string[] } = {}): string {
  const users = options.users ?? ["alice", "bob", "carol"];
  return `
version: 1
users:
${users.map((u) => `  - { key: ${u}, name: ${u}, email: ${u}@example.com }`).join("\n")}
groups:
  - { key: approvers, name: Approvers, members: [bob, carol] }
scopes:
  - { path: /mg/prod, name: Production }
defaults:
  activation:
    maxDuration: 8h
    requireMfa: false
    requireJustification: false
    approvers: [approvers]
roles:
  - key: app-admin
    name: App Administrator
    connector: { type: webhook, url: "${url}", secretEnv: PIM_TEST_WEBHOOK_SECRET, timeout: ${options.timeout ?? "2s"} }
assignments:
${users.map((u) => `  - { principal: ${u}, role: app-admin, kind: eligible }`).join("\n")}
`;
}

/** Many users eligible for one role through a group, for load and multi-process tests. */
export function crowdPolicy(
  count: number,
  connector: string,
  options: { prefix?: string; approval?: boolean } = {},
): { yaml: string; users: string[] } {
  const prefix = options.prefix ?? "u";
  const users = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, "0")}`);
  const yaml = `
version: 1
users:
  - { key: boss, name: Boss, email: boss@example.com }
${users.map((u) => `  - { key: ${u}, name: ${u}, email: ${u}@example.com }`).join("\n")}
groups:
  - { key: crowd, name: Crowd, members: [${users.join(", ")}] }
  - { key: approvers, name: Approvers, members: [boss] }
defaults:
  activation:
    maxDuration: 8h
    requireMfa: false
    requireJustification: false
    approvers: [approvers]
roles:
  - key: app-admin
    name: App Administrator
    connector: ${connector}
    policy:
      activation:
        requireApproval: ${options.approval ? "true" : "false"}
assignments:
  - { principal: crowd, role: app-admin, kind: eligible }
`;
  return { yaml, users };
}

/** One role granted as membership of a PostgreSQL role on a target named by PIM_TEST_TARGET_URL. */
export function postgresPolicy(names: { alice: string; bob: string; boss: string; role: string }): string {
  return `
version: 1
users:
  - { key: ${names.alice}, name: Alice, email: alice-${names.alice}@example.com }
  - { key: ${names.bob}, name: Bob, email: bob-${names.bob}@example.com }
  - { key: ${names.boss}, name: Boss, email: boss-${names.boss}@example.com }
groups:
  - { key: approvers, name: Approvers, members: [${names.boss}] }
scopes:
  - { path: /mg/prod, name: Production }
  - { path: /mg/prod/db, name: Production databases }
defaults:
  activation:
    maxDuration: 8h
    requireMfa: false
    requireJustification: false
    approvers: [approvers]
roles:
  - key: db-admin
    name: Database Administrator
    scopes: [/mg/prod]
    connector: { type: postgres, urlEnv: PIM_TEST_TARGET_URL, role: ${names.role} }
    policy:
      activation:
        requireApproval: true
        # Activations below /mg/prod are allowed; on this target each is the same role membership.
        allowChildScope: true
assignments:
  - { principal: ${names.alice}, role: db-admin, scope: /mg/prod, kind: eligible }
  - { principal: ${names.bob}, role: db-admin, scope: /mg/prod, kind: eligible }
`;
}
