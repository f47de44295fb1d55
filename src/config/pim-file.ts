/**
 * pim.yaml — policy as code. The file is read whole and refused whole: any error, and nothing
 * of it is used. Errors name the setting (`roles[3].policy.activation.maxDuration`) and the line.
 */
import { readFile } from "node:fs/promises";
import { type Document, isMap, isNode, isScalar, LineCounter, parseDocument } from "yaml";
import { type GroupMarker, groupRoleKey } from "../domain/group-roles.js";
import type { Policy, PolicyOverride } from "../domain/policy.js";
import { err, ok, type Result } from "../domain/result.js";
import { checkReferences, type FileIssue, formatPath, type IssuePath, resolveRolePolicy } from "./pim-file-checks.js";
import { declaredRoles } from "./pim-file-groups.js";
import { describeIssue } from "./pim-file-messages.js";
import type { PimReview } from "./pim-file-reviews.js";
import { type PimFile, pimFileSchema } from "./pim-file-schema.js";

export type { PimReview };

export interface PimFileError {
  /** The setting at fault, such as `roles[3].policy.activation.maxDuration`; `(file)` for the file as a whole. */
  path: string;
  message: string;
  /** 1-based line in the file where the setting (or, when it is missing, its parent) is written. */
  line?: number;
}

export interface PimUser {
  key: string;
  name: string;
  email: string;
  slackId: string | null;
  teamsId: string | null;
  manager: string | null;
  admin: boolean;
}

export interface PimGroup {
  key: string;
  name: string;
  /** User or group keys. */
  members: string[];
  /** User keys. */
  owners: string[];
  /**
   * PIM for Groups: membership and ownership are activated just in time, as the roles
   * `group:<key>:member` and `group:<key>:owner` that the group brings to `roles`.
   */
  privileged: boolean;
  description: string;
  /** What membership means on a target; `log` when the group is pim-bot's alone. */
  connector: ConnectorConfig;
  /** Overrides of `defaults` for activating membership, and for activating ownership. */
  policy: PolicyOverride;
  ownerPolicy: PolicyOverride;
}

export interface PimScope {
  path: string;
  name: string;
}

export type ConnectorConfig =
  | { type: "log" }
  | { type: "postgres"; urlEnv: string; role: string; timeoutMs?: number }
  | { type: "webhook"; url: string; secretEnv: string; timeoutMs: number };

export interface PimRole {
  key: string;
  name: string;
  description: string;
  connector: ConnectorConfig;
  scopes: string[];
  notify: boolean;
  critical: boolean;
  /** What the role itself names. */
  policy: PolicyOverride;
  /** Built-in policy, then `defaults`, then `policy`. */
  resolvedPolicy: Policy;
  /** Set on the membership and ownership roles of a privileged group. */
  group?: GroupMarker | null;
}

export interface PimAssignment {
  principal: string;
  role: string;
  scope: string;
  kind: "eligible" | "active";
  start: Date | null;
  /** null: permanent. */
  end: Date | null;
  justification: string | null;
}

export interface PimChannels {
  slack: { alerts: string | null; approvals: string | null };
  teams: { alerts: string | null; approvals: string | null };
}

export interface PimAlertThresholds {
  tooManyGlobalAdmins: { count: number; percent: number };
  staleEligibleDays: number;
  frequentActivations: { count: number; windowMs: number };
  mfaFailures: { count: number; windowMs: number };
}

export interface PimConfig {
  users: PimUser[];
  groups: PimGroup[];
  /** Always starts with the root scope "/". */
  scopes: PimScope[];
  defaults: PolicyOverride;
  roles: PimRole[];
  assignments: PimAssignment[];
  /** User keys, treated as permanently active in every critical role. */
  breakGlass: string[];
  channels: PimChannels;
  alerts: PimAlertThresholds;
  /** Access reviews, run by the reviews job (see pim-file-reviews.ts). */
  reviews: PimReview[];
  administration: PimAdministration;
}

export interface PimAdministration {
  /** Holders of this role administer while it is active; null: only `admin: true` users. */
  role: string | null;
  /** User or group keys who may read and export the audit log. */
  auditors: string[];
}

export async function loadPimFile(path: string): Promise<Result<PimConfig, PimFileError[]>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    return err([{ path: "(file)", message: `cannot read ${path}: ${reason}` }]);
  }
  return parsePimFile(text, path);
}

export function parsePimFile(text: string, source?: string): Result<PimConfig, PimFileError[]> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return err(
      doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        const where = `line ${line}, column ${col}${source ? ` of ${source}` : ""}`;
        return { path: "(file)", message: `${where}: ${e.message.split("\n")[0]}`, line };
      }),
    );
  }

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    return err([{ path: "(file)", message: (error as Error).message }]);
  }
  if (data === null || data === undefined) {
    return err([{ path: "(file)", message: `${source ?? "the file"} is empty; a policy file starts with version: 1` }]);
  }

  const parsed = pimFileSchema.safeParse(data, { error: describeIssue });
  const locate = (issue: FileIssue, key?: string): PimFileError => ({
    path: formatPath(issue.path),
    message: issue.message,
    line: lineOf(doc, lineCounter, issue.path, key),
  });
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) =>
      locate(
        { path: issue.path as IssuePath, message: issue.message },
        issue.code === "unrecognized_keys" ? issue.keys[0] : undefined,
      ),
    );
    return err(byLine(errors));
  }

  const issues = checkReferences(parsed.data);
  if (issues.length > 0) return err(byLine(issues.map((issue) => locate(issue))));
  return ok(toConfig(parsed.data));
}

/** One line per error: `roles[3].policy.activation.maxDuration: must be at most 24h (line 42)`. */
export function formatPimFileErrors(errors: PimFileError[]): string {
  return errors
    .map((e) => `${e.path}: ${e.message}${e.line !== undefined && e.path !== "(file)" ? ` (line ${e.line})` : ""}`)
    .join("\n");
}

function toConfig(file: PimFile): PimConfig {
  const declaredRoot = file.scopes.find((s) => s.path === "/");
  return {
    users: file.users,
    groups: file.groups,
    scopes: [declaredRoot ?? { path: "/", name: "Root" }, ...file.scopes.filter((s) => s.path !== "/")],
    defaults: file.defaults,
    roles: declaredRoles(file).map(({ role, group }) => ({
      ...role,
      resolvedPolicy: resolveRolePolicy(file, role),
      group,
    })),
    assignments: file.assignments,
    breakGlass: file.breakGlass,
    channels: file.channels,
    alerts: file.alerts,
    reviews: file.reviews.map((review) => ({
      ...review,
      roles: [
        ...review.roles,
        ...review.memberships.flatMap((key) => [groupRoleKey(key, "member"), groupRoleKey(key, "owner")]),
      ],
    })),
    administration: file.administration,
  };
}

/** The line of the node at `path`, or of its nearest written ancestor; of `key` inside it when given. */
function lineOf(doc: Document, lineCounter: LineCounter, path: IssuePath, key?: string): number | undefined {
  for (let at = path; ; at = at.slice(0, -1)) {
    const node = at.length === 0 ? doc.contents : doc.getIn(at, true);
    if (isNode(node) && node.range) {
      const keyNode =
        key !== undefined && isMap(node)
          ? node.items.find((p) => isScalar(p.key) && p.key.value === key)?.key
          : undefined;
      const offset = isNode(keyNode) && keyNode.range ? keyNode.range[0] : node.range[0];
      return lineCounter.linePos(offset).line;
    }
    if (at.length === 0) return undefined;
  }
}

/** Errors in the order of the file; errors without a line keep their place at the end. */
function byLine(errors: PimFileError[]): PimFileError[] {
  const lineOrLast = (e: PimFileError) => e.line ?? Number.MAX_SAFE_INTEGER;
  return [...errors].sort((a, b) => lineOrLast(a) - lineOrLast(b));
}
