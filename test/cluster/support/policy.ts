/**
 * The policy of the cluster test and the load benchmark: many people eligible for a handful of
 * roles, each role with approvers of its own, granted and revoked through a signed webhook.
 */

export interface CrowdPolicy {
  yaml: string;
  users: Person[];
  approvers: Person[];
  /** Role key → the approvers who decide it. */
  approversOf: Map<string, Person[]>;
  /** The role each user asks for. */
  roleOf: (user: Person) => string;
  roleKeys: string[];
}

export interface Person {
  key: string;
  slackId: string;
  name: string;
  email: string;
}

/** The environment variable the webhook connector reads its secret from. */
export const WEBHOOK_SECRET_ENV = "PIM_CLUSTER_WEBHOOK_SECRET";

/**
 * `users` requesters spread evenly over `roles` roles, each role decided by `approvers / roles`
 * approvers of its own (one approval needed), no MFA, justification optional.
 */
export function crowdPolicy(options: {
  users: number;
  approvers: number;
  roles: number;
  webhookUrl: string;
}): CrowdPolicy {
  const person = (prefix: string, slackPrefix: string, i: number): Person => {
    const key = `${prefix}${String(i).padStart(4, "0")}`;
    return {
      key,
      slackId: `${slackPrefix}${String(i).padStart(5, "0")}`,
      name: `${prefix.toUpperCase()} ${i}`,
      email: `${key}@example.com`,
    };
  };
  const users = Array.from({ length: options.users }, (_, i) => person("u", "U1", i));
  const approvers = Array.from({ length: options.approvers }, (_, i) => person("a", "U2", i));
  const roleKeys = Array.from({ length: options.roles }, (_, r) => `ops-${r}`);
  const perRole = Math.max(1, Math.floor(options.approvers / options.roles));
  const approversOf = new Map(
    roleKeys.map((role, r) => [role, approvers.slice(r * perRole, r * perRole + perRole)] as const),
  );
  const roleOf = (user: Person) => roleKeys[Number(user.key.slice(1)) % roleKeys.length]!;
  const line = (p: Person) => `  - { key: ${p.key}, name: ${p.name}, email: ${p.email}, slackId: ${p.slackId} }`;
  const yaml = `version: 1
users:
${[...users, ...approvers].map(line).join("\n")}
defaults:
  activation:
    maxDuration: 8h
    requireMfa: false
    requireJustification: false
    requireApproval: true
    allowEarlyDeactivation: true
roles:
${roleKeys
  .map(
    (role) => `  - key: ${role}
    name: Operations ${role.slice(4)}
    connector: { type: webhook, url: "${options.webhookUrl}", secretEnv: ${WEBHOOK_SECRET_ENV}, timeout: 5s }
    policy:
      activation:
        approvers: [${approversOf
          .get(role)!
          .map((a) => a.key)
          .join(", ")}]`,
  )
  .join("\n")}
assignments:
${users.map((u) => `  - { principal: ${u.key}, role: ${roleOf(u)}, kind: eligible }`).join("\n")}
`;
  return { yaml, users, approvers, approversOf, roleOf, roleKeys };
}
