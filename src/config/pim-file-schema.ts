/**
 * The shape of pim.yaml: one small zod schema per section. Values come out normalized
 * (durations in ms under the domain's `…Ms` names, absent optionals as null); references
 * between sections are checked afterwards in pim-file-checks.ts.
 */
import { createRequire } from "node:module";
import type * as Recheck from "recheck";
import { z } from "zod";
import { DAY, formatDuration, HOUR, MINUTE, parseDuration } from "../domain/duration.js";
import { groupRoleKey } from "../domain/group-roles.js";
import {
  type ActivationSettings,
  type AssignmentSettings,
  MAX_ACTIVATION_MS,
  type NotificationSettings,
  type PolicyOverride,
  type Recipient,
} from "../domain/policy.js";
import { isValidScope } from "../domain/scope.js";
import { reviewSchema } from "./pim-file-reviews.js";

const SECOND = 1_000;

// ── building blocks ────────────────────────────────────────────────────────────────────────

/** A schema-wide message that still says "is required" when the setting is missing. */
const unlessMissing = (message: string) => (iss: { input: unknown }) =>
  iss.input === undefined ? "is required" : message;

const text = z.string().trim().min(1, "must not be empty");
const flag = z.boolean();

export const KEY_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
const key = z.string().regex(KEY_PATTERN, 'must be lowercase letters, digits, ".", "_" or "-", such as "db-admin"');

const scopePath = z.string().refine(isValidScope, 'must be a scope path such as "/", "/mg/prod" or "/mg/prod/db"');

const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, "must be the name of an environment variable, such as PROD_DB_URL (not its value)");

const slackChannel = z
  .string()
  .regex(/^[CG][A-Z0-9]{2,}$/, "must be a Slack channel id such as C0123ABCDEF (not the #name)");
const teamsChannel = z
  .string()
  .regex(/^19:\S+@thread\.[a-z0-9]+$/, "must be a Teams channel id such as 19:abc123@thread.tacv2");

const regexSource = text.superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (error) {
    const reason = (error as Error).message.split(": ").at(-1);
    ctx.addIssue({ code: "custom", message: `is not a valid regular expression (${reason})` });
    return;
  }
  const slow = catastrophicBacktracking(source);
  if (slow) ctx.addIssue({ code: "custom", message: slow });
});

const regexVerdicts = new Map<string, string | null>();
let recheckModule: typeof Recheck | undefined;

/** Loaded with the first pattern to check: a policy without patterns does not pay for it at start-up. */
function recheck(): typeof Recheck {
  recheckModule ??= createRequire(import.meta.url)("recheck") as typeof Recheck;
  return recheckModule;
}

/**
 * A pattern is matched against what people type, on the event loop: one that can take
 * exponential or polynomial time on some input (nested repetition such as `(a+)+`) would let
 * anyone stall the bot, so it is refused when the file is read. recheck decides (cached per pattern).
 */
function catastrophicBacktracking(source: string): string | null {
  const known = regexVerdicts.get(source);
  if (known !== undefined) return known;
  const verdict = recheck().checkSync(`^(?:${source})$`, "", { timeout: 10_000 });
  const message =
    verdict.status === "vulnerable"
      ? `can take ${verdict.complexity.type} time on some inputs (catastrophic backtracking, e.g. ${JSON.stringify(verdict.attack.pattern)}); rewrite it without nested or overlapping repetition`
      : null;
  regexVerdicts.set(source, message);
  return message;
}

const timestamp = z.iso
  .datetime({
    offset: true,
    error: unlessMissing("must be a date and time with a time zone, such as 2026-01-01T00:00:00Z"),
  })
  .transform((iso) => new Date(iso));

/** A duration written as "30m", "8h", "1h30m" or "90d", bounded, parsed into milliseconds. */
export function duration(min: number, max?: number) {
  return z.string({ error: unlessMissing("must be a duration such as 30m, 8h or 90d") }).transform((written, ctx) => {
    const parsed = parseDuration(written);
    if (!parsed.ok) return reject(ctx, parsed.error);
    if (parsed.value < min) return reject(ctx, `must be at least ${formatBound(min)}`);
    if (max !== undefined && parsed.value > max) return reject(ctx, `must be at most ${formatBound(max)}`);
    return parsed.value;
  });
}

/** A bound the way people write it: "24h" rather than "1d", "30d", "5m". */
function formatBound(ms: number): string {
  if (ms % DAY === 0 && ms > DAY) return `${ms / DAY}d`;
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  return formatDuration(ms);
}

function reject(ctx: z.core.$RefinementCtx, message: string): never {
  ctx.addIssue({ code: "custom", message });
  return z.NEVER;
}

/** A list whose entries may not repeat; the repeat is reported at its own index. */
function uniqueList<T extends z.ZodType<string>>(item: T) {
  return z.array(item).superRefine((items, ctx) => {
    items.forEach((value, index) => {
      if (items.indexOf(value) < index)
        ctx.addIssue({ code: "custom", path: [index], message: `"${value}" is listed twice` });
    });
  });
}

/** A section that may be left out or left empty (`groups:` with nothing under it). */
function section<T extends z.ZodType>(schema: T, empty: unknown) {
  return z.preprocess((value) => value ?? empty, schema);
}

/** Drops keys whose value is undefined, so a policy override names only what the file names. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

// ── policy (defaults, and each role's override) ────────────────────────────────────────────

const RECIPIENT = /^(admins|requester|approvers|alert_channel|(user|group):[a-z0-9][a-z0-9._-]*)$/;
const recipient = z
  .string()
  .regex(RECIPIENT, "must be admins, requester, approvers, alert_channel, user:<key> or group:<key>")
  .transform((written) => written as Recipient);

const approvalChannel = z
  .strictObject({ slack: slackChannel.optional(), teams: teamsChannel.optional() })
  .refine((c) => c.slack !== undefined || c.teams !== undefined, "must name a slack or a teams channel");

const activationSchema = z
  .strictObject({
    maxDuration: duration(5 * MINUTE, MAX_ACTIVATION_MS).optional(),
    requireMfa: flag.optional(),
    mfaMethods: uniqueList(z.enum(["totp", "passkey", "oidc"])).optional(),
    requireJustification: flag.optional(),
    requireTicket: flag.optional(),
    ticketPattern: regexSource.nullable().optional(),
    ticketExample: text.nullable().optional(),
    requireApproval: flag.optional(),
    approvers: uniqueList(key).optional(),
    approvalsNeeded: z.int().min(1).optional(),
    approvalTimeout: duration(5 * MINUTE, 30 * DAY).optional(),
    approvalRouting: z.enum(["dm", "channel"]).optional(),
    approvalChannel: approvalChannel.nullable().optional(),
    approverStepUp: flag.optional(),
    requireApprovalComment: flag.optional(),
    allowEarlyDeactivation: flag.optional(),
    allowChildScope: flag.optional(),
  })
  .transform(
    ({ maxDuration, approvalTimeout, ...rest }): Partial<ActivationSettings> =>
      compact({ ...rest, maxDurationMs: maxDuration, approvalTimeoutMs: approvalTimeout }),
  );

const assignmentSettingsSchema = z
  .strictObject({
    allowPermanentEligible: flag.optional(),
    maxEligibleDuration: duration(HOUR).optional(),
    allowPermanentActive: flag.optional(),
    maxActiveDuration: duration(HOUR).optional(),
    requireMfaOnActive: flag.optional(),
    requireJustificationOnActive: flag.optional(),
  })
  .transform(
    ({ maxEligibleDuration, maxActiveDuration, ...rest }): Partial<AssignmentSettings> =>
      compact({ ...rest, maxEligibleDurationMs: maxEligibleDuration, maxActiveDurationMs: maxActiveDuration }),
  );

const notificationsSchema = z
  .strictObject({
    activation: uniqueList(recipient).optional(),
    assignment: uniqueList(recipient).optional(),
    approval: uniqueList(recipient).optional(),
    criticalOnly: flag.optional(),
  })
  .transform((n): Partial<NotificationSettings> => compact(n));

export const policyOverrideSchema = z
  .strictObject({
    activation: activationSchema.optional(),
    assignment: assignmentSettingsSchema.optional(),
    notifications: notificationsSchema.optional(),
  })
  .transform((p): PolicyOverride => compact(p));

// ── principals and scopes ──────────────────────────────────────────────────────────────────

const userSchema = z
  .strictObject({
    key,
    name: text,
    email: z.email({ error: unlessMissing("must be an email address") }),
    slackId: z
      .string()
      .regex(/^[UW][A-Z0-9]{2,}$/, "must be a Slack member id such as U012ABCDEF (profile → ⋮ → Copy member ID)")
      .optional(),
    teamsId: z
      .guid({ error: unlessMissing("must be the user's Microsoft Entra object id, a GUID such as 2f4a6c1e-…") })
      .optional(),
    manager: key.optional(),
    admin: flag.default(false),
  })
  .transform((u) => ({
    key: u.key,
    name: u.name,
    email: u.email,
    slackId: u.slackId ?? null,
    teamsId: u.teamsId?.toLowerCase() ?? null,
    manager: u.manager ?? null,
    admin: u.admin,
  }));

const scopeSchema = z.strictObject({ path: scopePath, name: text });

// ── roles ──────────────────────────────────────────────────────────────────────────────────

const webhookUrl = z
  .url({ error: unlessMissing("must be a URL such as https://hooks.example.com/pim") })
  .refine((url) => {
    const { protocol, hostname } = new URL(url);
    return protocol === "https:" || (protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(hostname));
  }, "must use https:// (http:// is allowed only for localhost)");

const connectorSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("log") }),
  z
    .strictObject({
      type: z.literal("postgres"),
      urlEnv: envName,
      role: z
        .string()
        .regex(
          /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/,
          "must be a PostgreSQL role name such as db_admin (at most 63 characters)",
        ),
      // Unset: CONNECTOR_TIMEOUT applies.
      timeout: duration(SECOND, 5 * 60 * SECOND).optional(),
    })
    .transform(({ timeout, ...rest }) => (timeout === undefined ? rest : { ...rest, timeoutMs: timeout })),
  z
    .strictObject({
      type: z.literal("webhook"),
      url: webhookUrl,
      secretEnv: envName,
      timeout: duration(SECOND, 60 * SECOND).default(5 * SECOND),
    })
    .transform(({ timeout, ...rest }) => ({ ...rest, timeoutMs: timeout })),
]);

// PIM for Groups: a privileged group's membership and ownership are activated like roles.
const groupSchema = z
  .strictObject({
    key,
    name: text,
    members: uniqueList(key).default([]),
    owners: uniqueList(key).default([]),
    privileged: flag.default(false),
    description: z.string().trim().default(""),
    connector: connectorSchema.optional(),
    policy: policyOverrideSchema.optional(),
    ownerPolicy: policyOverrideSchema.optional(),
  })
  .superRefine((g, ctx) => {
    if (g.privileged) return;
    for (const field of ["connector", "policy", "ownerPolicy"] as const)
      if (g[field] !== undefined)
        ctx.addIssue({ code: "custom", path: [field], message: "applies only to a group with privileged: true" });
  })
  .transform(({ connector, policy, ownerPolicy, ...g }) => ({
    ...g,
    connector: connector ?? { type: "log" as const },
    policy: policy ?? {},
    ownerPolicy: ownerPolicy ?? {},
  }));

const roleSchema = z.strictObject({
  key,
  name: text,
  description: z.string().trim().default(""),
  connector: connectorSchema.default({ type: "log" }),
  scopes: uniqueList(scopePath).min(1, "must name at least one scope").default(["/"]),
  notify: flag.default(false),
  critical: flag.default(false),
  policy: section(policyOverrideSchema, {}),
});

// ── assignments ────────────────────────────────────────────────────────────────────────────

const assignmentSchema = z
  .strictObject({
    principal: key,
    role: key.optional(),
    /** PIM for Groups: membership (or, with `access: owner`, ownership) of a privileged group. */
    group: key.optional(),
    access: z.enum(["member", "owner"]).optional(),
    scope: scopePath.default("/"),
    kind: z.enum(["eligible", "active"]),
    start: timestamp.optional(),
    end: timestamp.optional(),
    justification: text.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.start && a.end && a.end <= a.start)
      ctx.addIssue({ code: "custom", path: ["end"], message: "must be after start" });
    if (a.role === undefined && a.group === undefined)
      ctx.addIssue({ code: "custom", path: ["role"], message: "is required (or group, for a privileged group)" });
    if (a.role !== undefined && a.group !== undefined)
      ctx.addIssue({ code: "custom", path: ["group"], message: "names a group, but role is named too: name one" });
    if (a.access !== undefined && a.group === undefined)
      ctx.addIssue({ code: "custom", path: ["access"], message: "applies only with group" });
  })
  .transform((a) => ({
    principal: a.principal,
    role: a.role ?? groupRoleKey(a.group ?? "", a.access ?? "member"),
    scope: a.scope,
    kind: a.kind,
    start: a.start ?? null,
    end: a.end ?? null,
    justification: a.justification ?? null,
  }));

// ── channels and alert thresholds ──────────────────────────────────────────────────────────

function platformChannels(channelId: z.ZodString) {
  return section(
    z
      .strictObject({ alerts: channelId.optional(), approvals: channelId.optional() })
      .transform((c) => ({ alerts: c.alerts ?? null, approvals: c.approvals ?? null })),
    {},
  );
}

const channelsSchema = z.strictObject({ slack: platformChannels(slackChannel), teams: platformChannels(teamsChannel) });

const count = (fallback: number) => z.int().min(1).default(fallback);

function perWindow(fallbackCount: number, fallbackWindow: number) {
  return section(
    z
      .strictObject({ count: count(fallbackCount), window: duration(MINUTE, 30 * DAY).default(fallbackWindow) })
      .transform(({ count, window }) => ({ count, windowMs: window })),
    {},
  );
}

const alertsSchema = z.strictObject({
  tooManyGlobalAdmins: section(z.strictObject({ count: count(5), percent: z.number().gt(0).max(100).default(30) }), {}),
  staleEligibleDays: count(90),
  frequentActivations: perWindow(5, DAY),
  mfaFailures: perWindow(5, HOUR),
});

// ── administration ─────────────────────────────────────────────────────────────────────────

const administrationSchema = z
  .strictObject({
    /** A role whose holders administer pim-bot while they hold it active. */
    role: key.optional(),
    /** Users and groups who may read and export the audit log without administering. */
    auditors: uniqueList(key).default([]),
  })
  .transform((a) => ({ role: a.role ?? null, auditors: a.auditors }));

// ── the file ───────────────────────────────────────────────────────────────────────────────

export const pimFileSchema = z.strictObject({
  version: z.literal(1, {
    error: (iss) => (iss.input === undefined ? "is required: start the file with version: 1" : "must be 1"),
  }),
  users: section(z.array(userSchema), []),
  groups: section(z.array(groupSchema), []),
  scopes: section(z.array(scopeSchema), []),
  defaults: section(policyOverrideSchema, {}),
  roles: section(z.array(roleSchema), []),
  assignments: section(z.array(assignmentSchema), []),
  breakGlass: section(uniqueList(key), []),
  channels: section(channelsSchema, {}),
  alerts: section(alertsSchema, {}),
  reviews: section(z.array(reviewSchema), []),
  administration: section(administrationSchema, {}),
});

/** pim.yaml after its shape is checked, before references between sections are. */
export type PimFile = z.output<typeof pimFileSchema>;
