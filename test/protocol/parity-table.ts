import { and, desc, eq, inArray, max, ne } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decide } from "../../src/app/activation/decide.js";
import { cancelRequest, deactivate } from "../../src/app/activation/end.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { assignRole, removeAssignment } from "../../src/app/admin/assignments.js";
import { decideAssignmentRequest, requestAssignmentExtension } from "../../src/app/admin/lifecycle.js";
import type { EngineEvent } from "../../src/app/kernel/events.js";
import { closeReview } from "../../src/app/reviews/campaigns.js";
import { recordDecision } from "../../src/app/reviews/decide.js";
import { startReview } from "../../src/app/reviews/start.js";
import { ACTIONS, FORMS } from "../../src/chat/views/action-ids.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { listAssignments, pendingAssignmentRequests, setAssignmentEnd } from "../../src/db/repos/assignments.js";
import { activations } from "../../src/db/schema/activations.js";
import { alerts } from "../../src/db/schema/alerts.js";
import { assignments } from "../../src/db/schema/assignments.js";
import { auditEvents } from "../../src/db/schema/audit.js";
import { reviewCampaigns, reviewItems } from "../../src/db/schema/reviews.js";
import { assignmentReference } from "../../src/domain/assignment-reference.js";
import { DAY, HOUR } from "../../src/domain/duration.js";
import { type Hands, handsFor } from "../support/hands.js";
import { type Platform, startWorld, type World } from "../support/world.js";

/** What a row acts on, made fresh for every run: the value its button carries, and what to read back. */
interface Subject {
  value: string;
  requestId?: string;
  alertId?: string;
  itemId?: string;
  campaignId?: string;
}

interface Run {
  w: World;
  p: Hands;
  platform: Platform;
}

export interface Row {
  /** A button or form id from action-ids.ts, or what is typed after the command ("" alone; UNKNOWN and ROLE_NAME below). */
  id: string;
  setup?: (r: Run) => Promise<Subject>;
  act: (r: Run, s: Subject) => Promise<unknown>;
  /** The audit events the action writes, in order. */
  audit: string[];
  /** People who must be shown something (at least): the actor, and whoever the action concerns. */
  told: string[];
  /**
   * The card it is clicked on reaches a person on one platform only, the first that reaches them
   * (review prompts); approval cards and channel cards reach every platform. In a two-platform
   * deployment such a row runs on that first platform.
   */
  onePlatform?: true;
}

/** Typed words that are not subcommands: a role's name opens the form with it picked; anything else gets the help. */
export const ROLE_NAME = "<role name>";
export const UNKNOWN = "<anything else>";

const PEOPLE = ["alice", "bob", "carol", "dave", "erin", "glass"];
const DB_TICKET = "INC-123456";

// ── setting the scene, through the engine, so that only the row's own action goes through chat ──

const idOf = (r: Run, key: string) => r.w.engine.user(key);

async function asks(r: Run, user: string, role: string): Promise<Subject> {
  const done = await requestActivation(r.w.deps, {
    requesterId: await idOf(r, user),
    roles: [{ roleId: await r.w.engine.role(role), scope: null }],
    durationMs: HOUR,
    justification: "Parity check",
    ticket: role === "db-admin" ? DB_TICKET : null,
    origin: r.platform,
  });
  if (!done.ok) throw new Error(done.error.message);
  await r.w.settle();
  return { value: done.value.requestId, requestId: done.value.requestId };
}

/** `user` holds `role` (one that needs no approval), granted; the subject's value is the activation. */
async function holds(r: Run, user: string, role: string): Promise<Subject> {
  const { requestId } = await asks(r, user, role);
  await r.w.runJobs();
  const [row] = await r.w.deps.db.select().from(activations).where(eq(activations.requestId, requestId!));
  if (row?.status !== "active") throw new Error(`${user} did not get ${role}: ${row?.status}`);
  return { value: row.id, requestId };
}

/** A review of the reader role by erin; the subject is alice's item. */
async function reviewing(r: Run): Promise<Subject> {
  const started = await startReview(r.w.deps, {
    definition: null,
    occurrenceAt: null,
    durationMs: DAY,
    startedBy: "erin",
    settings: {
      title: "Parity review",
      roleIds: [await r.w.engine.role("reader")],
      groupIds: [],
      kinds: ["eligible", "active"],
      reviewerMode: "named",
      reviewerIds: [await idOf(r, "erin")],
      fallbackIds: [],
      unanswered: "keep",
      inactiveDays: 30,
      autoApply: false,
      remindersMs: [],
    },
  });
  if (!started) throw new Error("the review did not start");
  await r.w.settle();
  const [item] = await r.w.deps.db
    .select()
    .from(reviewItems)
    .where(and(eq(reviewItems.campaignId, started.campaign.id), eq(reviewItems.principalId, await idOf(r, "alice"))));
  return { value: item!.id, itemId: item!.id, campaignId: started.campaign.id };
}

/** A closed review that removes grace's billing eligibility once applied (given anew every run). */
async function reviewClosed(r: Run): Promise<Subject> {
  const assigned = await assignRole(
    r.w.deps,
    { kind: "operator", name: "parity" },
    { principal: "grace", role: "billing", kind: "eligible" },
  );
  if (!assigned.ok) throw new Error(assigned.error.message);
  const started = await startReview(r.w.deps, {
    definition: null,
    occurrenceAt: null,
    durationMs: DAY,
    startedBy: "erin",
    settings: {
      title: "Billing review",
      roleIds: [await r.w.engine.role("billing")],
      groupIds: [],
      kinds: ["eligible"],
      reviewerMode: "named",
      reviewerIds: [await idOf(r, "erin")],
      fallbackIds: [],
      unanswered: "keep",
      inactiveDays: 30,
      autoApply: false,
      remindersMs: [],
    },
  });
  if (!started) throw new Error("the review did not start");
  const [item] = await r.w.deps.db
    .select()
    .from(reviewItems)
    .where(and(eq(reviewItems.campaignId, started.campaign.id), eq(reviewItems.principalId, await idOf(r, "grace"))));
  const decided = await recordDecision(r.w.deps, await idOf(r, "erin"), { itemId: item!.id, decision: "remove" });
  if (!decided.ok) throw new Error(decided.error.message);
  await closeReview(r.w.deps, started.campaign.id);
  await r.w.settle();
  return { value: started.campaign.id, campaignId: started.campaign.id };
}

/** A break-glass account used: the alert waits in the alerts channel. */
async function alerted(r: Run): Promise<Subject> {
  await holds(r, "glass", "reader");
  const [alert] = await r.w.deps.db
    .select()
    .from(alerts)
    .where(eq(alerts.status, "open"))
    .orderBy(desc(alerts.lastSeenAt));
  if (!alert) throw new Error("no alert was raised");
  return { value: alert.id, alertId: alert.id };
}

const OPERATOR = { kind: "operator" as const, name: "parity" };

/**
 * bob is eligible for Production Deployer from chat (a role no other row touches), ending in `days`
 * (less than 0: ended that long ago), with nothing asked about it: made once, set back to that end
 * every run.
 */
async function bobAssigned(r: Run, days: number): Promise<Subject> {
  const [bob, deploy] = [await idOf(r, "bob"), await r.w.engine.role("deploy")];
  const find = async () => (await listAssignments(r.w.deps.db, { principalId: bob, roleId: deploy }))[0]?.assignment;
  if (!(await find())) {
    const made = await assignRole(r.w.deps, OPERATOR, {
      principal: "bob",
      role: "deploy",
      kind: "eligible",
      endsAt: new Date(r.w.clock.now().getTime() + 10 * DAY),
    });
    if (!made.ok) throw new Error(made.error.message);
  }
  const row = (await find())!;
  for (const asked of await pendingAssignmentRequests(r.w.deps.db))
    if (asked.assignmentId === row.id) await decideAssignmentRequest(r.w.deps, OPERATOR, asked.id, "deny");
  const now = r.w.clock.now().getTime();
  await setAssignmentEnd(
    r.w.deps.db,
    row.id,
    new Date(now + days * DAY),
    days < 0 ? new Date(now + (days - 10) * DAY) : null,
  );
  await r.w.settle();
  return { value: row.id };
}

/** bob's assignment as above, on the list `assignments` showed him. */
async function bobListed(r: Run, days: number): Promise<Subject> {
  const subject = await bobAssigned(r, days);
  await r.p.type("bob", "assignments");
  return subject;
}

/** bob asked to extend his assignment; the subject is the request erin decides. */
async function bobAsked(r: Run): Promise<Subject> {
  const { value } = await bobAssigned(r, 10);
  const asked = await requestAssignmentExtension(r.w.deps, await idOf(r, "bob"), value, "Parity check");
  if (!asked.ok) throw new Error(asked.error.message);
  await r.w.settle();
  return { value: asked.value.id };
}

/** bob eligible for reader, assigned at the command line; the subject's value is the assignment id. */
async function bobReader(r: Run): Promise<Subject> {
  const assigned = await assignRole(
    r.w.deps,
    { kind: "operator", name: "parity" },
    { principal: "bob", role: "reader", kind: "eligible", endsAt: new Date(r.w.clock.now().getTime() + 30 * DAY) },
  );
  if (!assigned.ok || assigned.value.status !== "assigned") throw new Error("bob was not assigned");
  await r.w.settle();
  return { value: assigned.value.assignment.id };
}

// ── the table: one row per command, button and form ──

export const TABLE: Row[] = [
  // What is typed: `/elevate <words>` on Slack, `elevate <words>` in Teams.
  { id: "", act: (r) => r.p.type("alice", ""), audit: [], told: ["alice"] },
  { id: ROLE_NAME, act: (r) => r.p.type("alice", "Reader"), audit: [], told: ["alice"] },
  { id: UNKNOWN, act: (r) => r.p.type("alice", "frobnicate"), audit: [], told: ["alice"] },
  { id: "help", act: (r) => r.p.type("alice", "help"), audit: [], told: ["alice"] },
  {
    id: "status",
    setup: (r) => holds(r, "alice", "reader"),
    act: (r) => r.p.type("alice", "status"),
    audit: [],
    told: ["alice"],
  },
  { id: "roles", act: (r) => r.p.type("alice", "roles"), audit: [], told: ["alice"] },
  {
    id: "pending",
    setup: (r) => asks(r, "alice", "db-admin"),
    act: (r) => r.p.type("bob", "pending"),
    audit: [],
    told: ["bob"],
  },
  {
    id: "end",
    setup: (r) => holds(r, "alice", "reader"),
    act: (r) => r.p.type("alice", "end reader"),
    audit: ["activation.ending", "connector.revoke.succeeded", "activation.ended"],
    told: ["alice"],
  },
  {
    id: "extend",
    setup: (r) => holds(r, "alice", "reader"),
    act: (r) => r.p.type("alice", "extend reader"),
    audit: [],
    told: ["alice"],
  },
  { id: "mfa", act: (r) => r.p.type("alice", "mfa setup"), audit: ["mfa.link_created"], told: ["alice"] },
  { id: "review", act: (r) => r.p.type("erin", "review reader"), audit: ["review.started"], told: ["erin"] },
  {
    id: "active",
    setup: (r) => holds(r, "alice", "reader"),
    act: (r) => r.p.type("erin", "active"),
    audit: [],
    told: ["erin"],
  },
  {
    id: "revoke",
    setup: (r) => holds(r, "alice", "reader"),
    act: (r) => r.p.type("erin", "revoke alice reader Left the team"),
    audit: ["activation.ending", "connector.revoke.succeeded", "activation.ended"],
    told: ["erin", "alice"],
  },
  {
    id: "assignments",
    setup: (r) => bobAssigned(r, 10),
    act: (r) => r.p.type("bob", "assignments"),
    audit: [],
    told: ["bob"],
  },
  {
    id: "history",
    setup: (r) => holds(r, "alice", "reader"),
    act: (r) => r.p.type("alice", "history"),
    audit: [],
    told: ["alice"],
  },
  {
    id: "approvals",
    setup: async (r) => {
      const asked = await asks(r, "alice", "db-admin");
      const denied = await decide(r.w.deps, {
        requestId: asked.value,
        approverId: await idOf(r, "bob"),
        decision: "deny",
        comment: "Not now",
      });
      if (!denied.ok) throw new Error(denied.error.message);
      await r.w.runJobs();
      return asked;
    },
    act: (r) => r.p.type("bob", "approvals"),
    audit: [],
    told: ["bob"],
  },
  {
    // `audit [filters]` reads; `audit export [filters]` also writes the export's own audit event.
    id: "audit",
    setup: (r) => holds(r, "alice", "reader"),
    act: (r) => r.p.type("erin", "audit export person:alice event:activation"),
    audit: ["audit.exported"],
    told: ["erin"],
  },

  { id: "admin", act: (r) => r.p.type("erin", "admin"), audit: [], told: ["erin"] },
  {
    id: "admin assign",
    act: (r) => r.p.type("erin", "admin assign bob reader eligible for 30d Parity check"),
    audit: ["assignment.created"],
    told: ["erin"],
  },
  {
    id: "admin members",
    setup: bobReader,
    act: (r) => r.p.type("erin", "admin members reader"),
    audit: [],
    told: ["erin"],
  },
  {
    id: "admin end",
    setup: bobReader,
    act: (r, s) => r.p.type("erin", `admin end ${assignmentReference(s.value)} for 60d Parity check`),
    audit: ["assignment.updated"],
    told: ["erin"],
  },
  {
    id: "admin remove",
    setup: bobReader,
    act: (r, s) => r.p.type("erin", `admin remove ${assignmentReference(s.value)} Parity check`),
    audit: ["assignment.removed"],
    told: ["erin"],
  },

  // Buttons, clicked where the person was shown them.
  {
    id: ACTIONS.approve,
    setup: (r) => asks(r, "alice", "db-admin"),
    act: (r, s) => r.p.click("bob", ACTIONS.approve, s.value),
    audit: ["approval.approve", "activation.activating", "connector.grant.succeeded", "activation.active"],
    told: ["bob", "alice", "carol", "dave"],
  },
  {
    id: ACTIONS.deny,
    setup: (r) => asks(r, "alice", "db-admin"),
    act: (r, s) => r.p.click("carol", ACTIONS.deny, s.value),
    audit: [],
    told: ["carol"],
  },
  {
    id: ACTIONS.cancel,
    setup: (r) => asks(r, "alice", "db-admin"),
    act: (r, s) => r.p.click("alice", ACTIONS.cancel, s.value),
    audit: ["activation.canceled"],
    told: ["alice", "bob", "carol", "dave"],
  },
  {
    id: ACTIONS.endNow,
    setup: (r) => holds(r, "alice", "reader"),
    act: (r, s) => r.p.click("alice", ACTIONS.endNow, s.value),
    audit: ["activation.ending", "connector.revoke.succeeded", "activation.ended"],
    told: ["alice"],
  },
  {
    id: ACTIONS.extend,
    setup: (r) => holds(r, "alice", "reader"),
    act: (r, s) => r.p.click("alice", ACTIONS.extend, s.value),
    audit: [],
    told: ["alice"],
  },
  {
    id: ACTIONS.activate,
    setup: async (r) => {
      await r.p.type("alice", "roles");
      return { value: await r.w.engine.role("reader") };
    },
    act: (r, s) => r.p.click("alice", ACTIONS.activate, s.value),
    audit: [],
    told: ["alice"],
  },
  {
    id: ACTIONS.acknowledge,
    setup: alerted,
    act: (r, s) => r.p.click("erin", ACTIONS.acknowledge, s.value),
    audit: ["alert.acknowledged"],
    told: ["erin"],
  },
  {
    id: ACTIONS.reviewKeep,
    setup: reviewing,
    act: (r, s) => r.p.click("erin", ACTIONS.reviewKeep, s.value),
    audit: ["review.decided"],
    told: ["erin"],
    onePlatform: true,
  },
  {
    id: ACTIONS.reviewRemove,
    setup: reviewing,
    act: (r, s) => r.p.click("erin", ACTIONS.reviewRemove, s.value),
    audit: [],
    told: ["erin"],
    onePlatform: true,
  },
  {
    id: ACTIONS.reviewApply,
    setup: reviewClosed,
    act: (r, s) => r.p.click("erin", ACTIONS.reviewApply, s.value),
    audit: ["assignment.removed", "review.applied"],
    told: ["erin"],
  },

  {
    id: ACTIONS.revoke,
    setup: async (r) => {
      const held = await holds(r, "alice", "reader");
      await r.p.type("erin", "active");
      return held;
    },
    act: (r, s) => r.p.click("erin", ACTIONS.revoke, s.value),
    audit: [],
    told: ["erin"],
  },

  {
    id: ACTIONS.assignmentExtend,
    setup: (r) => bobListed(r, 10),
    act: (r, s) => r.p.click("bob", ACTIONS.assignmentExtend, s.value),
    audit: [],
    told: ["bob"],
  },
  {
    id: ACTIONS.assignmentRenew,
    setup: (r) => bobListed(r, -5),
    act: (r, s) => r.p.click("bob", ACTIONS.assignmentRenew, s.value),
    audit: [],
    told: ["bob"],
  },
  {
    id: ACTIONS.assignmentApprove,
    setup: bobAsked,
    act: (r, s) => r.p.click("erin", ACTIONS.assignmentApprove, s.value),
    audit: ["assignment.updated", "assignment.extend_approved"],
    told: ["erin", "bob"],
    onePlatform: true,
  },
  {
    id: ACTIONS.assignmentDeny,
    setup: bobAsked,
    act: (r, s) => r.p.click("erin", ACTIONS.assignmentDeny, s.value, { comment: "Not this time" }),
    audit: ["assignment.extend_denied"],
    told: ["erin", "bob"],
    onePlatform: true,
  },
  {
    id: ACTIONS.assignmentRemove,
    setup: async (r) => {
      const assigned = await bobReader(r);
      await r.p.type("erin", "admin members reader");
      return assigned;
    },
    act: (r, s) => r.p.click("erin", ACTIONS.assignmentRemove, s.value),
    audit: [],
    told: ["erin"],
  },

  // Forms, opened the way people open them, filled in and sent.
  {
    id: FORMS.request,
    act: async (r) => {
      await r.p.type("alice", "");
      return r.p.submit("alice", FORMS.request, {
        roles: ["db-admin"],
        duration: "2h",
        justification: "Fix the index",
        ticket: DB_TICKET,
      });
    },
    audit: ["activation.requested", "activation.pending_approval"],
    told: ["alice", "bob", "carol", "dave"],
  },
  {
    id: FORMS.deny,
    setup: (r) => asks(r, "alice", "db-admin"),
    act: async (r, s) => {
      await r.p.click("carol", ACTIONS.deny, s.value);
      return r.p.submit("carol", FORMS.deny, { comment: "Use the replica" });
    },
    audit: ["approval.deny", "activation.denied"],
    told: ["carol", "alice", "bob", "dave"],
  },
  {
    id: FORMS.extend,
    setup: (r) => holds(r, "alice", "reader"),
    act: async (r, s) => {
      await r.p.click("alice", ACTIONS.extend, s.value);
      return r.p.submit("alice", FORMS.extend, { duration: "2h", justification: "Still at it" });
    },
    // The extension is a new activation that takes over from the old one without a gap.
    audit: [
      "activation.requested",
      "activation.activating",
      "connector.grant.succeeded",
      "activation.active",
      "activation.ending",
      "connector.revoke.skipped",
      "activation.ended",
    ],
    told: ["alice"],
  },
  {
    id: FORMS.revoke,
    setup: async (r) => {
      const held = await holds(r, "alice", "reader");
      await r.p.type("erin", "active");
      return held;
    },
    act: async (r, s) => {
      await r.p.click("erin", ACTIONS.revoke, s.value);
      return r.p.submit("erin", FORMS.revoke, { reason: "Left the team" });
    },
    audit: ["activation.ending", "connector.revoke.succeeded", "activation.ended"],
    told: ["erin", "alice"],
  },
  {
    id: FORMS.assignmentExtend,
    setup: (r) => bobListed(r, 10),
    act: async (r, s) => {
      await r.p.click("bob", ACTIONS.assignmentExtend, s.value);
      return r.p.submit("bob", FORMS.assignmentExtend, { reason: "Parity check" });
    },
    audit: ["assignment.extend_requested"],
    told: ["bob", "erin"],
  },
  {
    id: FORMS.assignmentRenew,
    setup: (r) => bobListed(r, -5),
    act: async (r, s) => {
      await r.p.click("bob", ACTIONS.assignmentRenew, s.value);
      return r.p.submit("bob", FORMS.assignmentRenew, { reason: "Parity check" });
    },
    audit: ["assignment.renew_requested"],
    told: ["bob", "erin"],
  },
  {
    id: FORMS.assign,
    act: async (r) => {
      await r.p.type("erin", "admin");
      return r.p.submit("erin", FORMS.assign, {
        principal: "bob",
        target: { role: "reader", scope: "/" },
        kind: "eligible",
        end: "for 30d",
        justification: "Parity check",
      });
    },
    audit: ["assignment.created"],
    told: ["erin"],
  },
  {
    id: FORMS.assignmentRemove,
    setup: async (r) => {
      const assigned = await bobReader(r);
      await r.p.type("erin", "admin members reader");
      return assigned;
    },
    act: async (r, s) => {
      await r.p.click("erin", ACTIONS.assignmentRemove, s.value);
      return r.p.submit("erin", FORMS.assignmentRemove, { reason: "Parity check" });
    },
    audit: ["assignment.removed"],
    told: ["erin"],
  },
  {
    id: FORMS.reviewRemove,
    setup: reviewing,
    act: async (r, s) => {
      await r.p.click("erin", ACTIONS.reviewRemove, s.value);
      return r.p.submit("erin", FORMS.reviewRemove, { reason: "Moved teams" });
    },
    audit: ["review.decided"],
    told: ["erin"],
    onePlatform: true,
  },
];

// ── what came out of one run ──

interface Outcome {
  /** What the action answered itself (a form's field errors). */
  answer: unknown;
  audit: unknown[];
  events: string[];
  state: unknown;
  told: string[];
}

const ID = /\b[a-z]{2,6}_[A-Za-z0-9]{16}\b/g;
const TIME = /^\d{4}-\d\d-\d\dT/;

/** An audit row without what differs by nature between two runs: ids, times, hashes, request ids and the platform it came from. */
function comparable(value: unknown): unknown {
  if (typeof value === "string") return TIME.test(value) ? "<time>" : value.replace(ID, "<id>");
  if (value instanceof Date) return "<time>";
  if (Array.isArray(value)) return value.map(comparable);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !["id", "at", "hash", "prevHash", "lane", "origin", "platform"].includes(k))
        // Which HTTP request led to it differs by nature; that one did is compared.
        .map(([k, v]) => [k, k === "httpRequestId" ? "<request id>" : comparable(v)]),
    );
  return value;
}

function eventName(e: EngineEvent): string {
  return "change" in e ? `${e.type}:${e.change}` : e.type;
}

async function stateOf(w: World, s: Subject, events: EngineEvent[]): Promise<unknown> {
  const requestIds = new Set([
    ...(s.requestId ? [s.requestId] : []),
    ...events.flatMap((e) => ("requestId" in e && typeof e.requestId === "string" ? [e.requestId] : [])),
  ]);
  const requests =
    requestIds.size === 0
      ? []
      : await w.deps.db
          .select()
          .from(activations)
          .where(inArray(activations.requestId, [...requestIds]));
  const item = s.itemId
    ? (await w.deps.db.select().from(reviewItems).where(eq(reviewItems.id, s.itemId)))[0]
    : undefined;
  const campaign = s.campaignId
    ? (await w.deps.db.select().from(reviewCampaigns).where(eq(reviewCampaigns.id, s.campaignId)))[0]
    : undefined;
  const alert = s.alertId ? (await w.deps.db.select().from(alerts).where(eq(alerts.id, s.alertId)))[0] : undefined;
  return {
    activations: requests.map((a) => a.status).sort(),
    ...(item ? { item: item.outcome } : {}),
    ...(campaign ? { campaign: [campaign.status, campaign.appliedAt !== null] } : {}),
    ...(alert ? { alert: alert.status } : {}),
  };
}

async function lastAuditId(w: World): Promise<number> {
  const [last] = await w.deps.db.select({ id: max(auditEvents.id) }).from(auditEvents);
  return last?.id ?? 0;
}

/** Ends whatever a run left open, so that the next run starts from the fixture as it was. */
async function tidy(w: World): Promise<void> {
  const open = await w.deps.db
    .select()
    .from(activations)
    .where(inArray(activations.status, ["requested", "pending_mfa", "pending_approval", "active"]));
  for (const a of open) {
    const done =
      a.status === "active"
        ? await deactivate(w.deps, a.id, a.principalId)
        : await cancelRequest(w.deps, a.requestId, a.principalId);
    if (!done.ok && done.error.code !== "WRONG_STATE") throw new Error(`tidying: ${done.error.message}`);
  }
  for (const c of await w.deps.db.select().from(reviewCampaigns).where(eq(reviewCampaigns.status, "open")))
    await closeReview(w.deps, c.id);
  // Assignments made by a row (from chat or at the command line) go, so the next run assigns anew.
  for (const a of await w.deps.db.select().from(assignments).where(ne(assignments.source, "file"))) {
    const removed = await removeAssignment(w.deps, { kind: "operator", name: "parity" }, a.id, "tidying");
    if (!removed.ok) throw new Error(`tidying: ${removed.error.message}`);
  }
  await w.runJobs();
}

/** Runs a row with one platform's hands; who was told is read on every platform of the deployment. */
async function runRow(w: World, p: Hands, all: Hands[], row: Row): Promise<Outcome> {
  const r: Run = { w, p, platform: p.platform };
  const subject = row.setup ? await row.setup(r) : { value: "" };
  await w.settle();
  const auditMark = await lastAuditId(w);
  const eventMark = w.events.length;
  const shown = (u: string) => all.reduce((n, h) => n + h.shown(u), 0);
  const before = PEOPLE.map(shown);
  const answer = (await row.act(r, subject)) ?? null;
  await w.runJobs();
  const events = w.events.slice(eventMark);
  const outcome: Outcome = {
    answer,
    audit: (await queryAudit(w.deps.db, { afterId: auditMark })).map(comparable),
    events: events.map(eventName),
    state: await stateOf(w, subject, events),
    told: PEOPLE.filter((u, i) => shown(u) > before[i]!),
  };
  await tidy(w);
  return outcome;
}

// ── the deployments, one world each, every row run on every platform the deployment has ──

export interface Deployment {
  name: string;
  platforms: Platform[];
}

const label = (row: Row) => (row.id === "" ? "(nothing)" : row.id);

/**
 * Runs the whole table in each deployment, one world each, every row on every platform the
 * deployment has; the first outcome of a row is the one every later run of it must equal.
 */
export function describeParity(deployments: Deployment[]): void {
  const reference = new Map<string, { where: string; outcome: Outcome }>();
  for (const deployment of deployments) {
    describe(`parity: ${deployment.name}`, () => {
      let w: World;
      const hands = new Map<Platform, Hands>();
      beforeAll(async () => {
        w = await startWorld("pglite", { fixture: "deployments.yaml", platforms: deployment.platforms });
        for (const platform of deployment.platforms) hands.set(platform, handsFor(w, platform));
        // People write to the bot once before using it; on Teams that is how it knows their chat.
        if (w.teams) for (const user of PEOPLE) await hands.get("teams")!.type(user, "help");
        await w.runJobs();
      });
      afterAll(async () => {
        expect(w.slackApi?.violations ?? []).toEqual([]);
        expect(w.connector?.violations ?? []).toEqual([]);
        await w.dispose();
      });

      for (const row of TABLE)
        for (const platform of row.onePlatform ? deployment.platforms.slice(0, 1) : deployment.platforms)
          it(`${label(row)} on ${platform}`, async () => {
            const outcome = await runRow(w, hands.get(platform)!, [...hands.values()], row);
            if (process.env.PARITY_SHOW) console.log(label(row), platform, JSON.stringify(outcome));
            expect(outcome.audit.map((a) => (a as { event: string }).event)).toEqual(row.audit);
            expect(outcome.told).toEqual(expect.arrayContaining(row.told));
            const where = `${deployment.name} on ${platform}`;
            const first = reference.get(row.id);
            if (!first) reference.set(row.id, { where, outcome });
            else expect(outcome, `the same as ${first.where}`).toEqual(first.outcome);
          });
    });
  }
}
