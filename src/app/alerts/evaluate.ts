import { lockForTransaction } from "../../db/advisory-lock.js";
import {
  acknowledgeOpenAlert,
  insertAlerts,
  markAlertsPosted,
  markAlertsSeen,
  postedAlertIds,
  recordRecurrence,
  resolveAlerts,
  setOccurrenceKeys,
  unresolvedAlerts,
} from "../../db/repos/alerts.js";
import { principalById } from "../../db/repos/directory.js";
import {
  type AlertCondition,
  type AlertRule,
  assignedOutsidePim,
  incidentFields,
  lastOccurrence,
  newOccurrences,
  type UnexpectedHoldingFact,
} from "../../domain/alert-rules.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { chunks } from "../kernel/chunks.js";
import type { EngineEvent } from "../kernel/events.js";
import { newId } from "../kernel/ids.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import type { Delivery } from "../notices/delivery.js";
import { alertThresholds, conditionsOf, SCHEDULED_RULES } from "./facts.js";
import { type AlertRecord, type AlertRow, getAlert, toAlertRecords } from "./records.js";

/** Evaluations take turns across replicas, so facts and the alerts table are read as one picture. */
export const ALERTS_LOCK_KEY = 0x70696d10;

/** New alerts of one rule posted as cards per evaluation; beyond this, one card says how many more. */
export const CARDS_PER_RULE = 20;

export interface AlertOutcome {
  opened: AlertRecord[];
  /**
   * Incident alerts, still unresolved, that occurred again: their count and last occurrence moved
   * on, and an acknowledged one is open again.
   */
  recurred: AlertRecord[];
  resolved: AlertRecord[];
  /** Unresolved alerts of the evaluated rules whose condition still holds. */
  stillOpen: number;
}

/**
 * Evaluates rules against the database as it is now: a condition without an unresolved alert opens
 * one (posted to the alert channel), a condition that already has one changes nothing unless it is
 * an incident that occurred again (its card redrawn with the count, and re-raised if it had been
 * acknowledged), and an unresolved alert whose condition no longer holds is resolved (its card
 * redrawn as resolved).
 */
export async function evaluateAlerts(
  deps: EngineDeps,
  delivery: Delivery,
  rules: AlertRule[] = SCHEDULED_RULES,
): Promise<AlertOutcome> {
  const wanted = rules.filter((r) => r !== "assigned_outside_pim");
  const outcome = await inTransaction(deps, async (work) => {
    await lockAlerts(work);
    const thresholds = await alertThresholds(work.tx);
    const conditions: AlertCondition[] = [];
    for (const rule of wanted) conditions.push(...(await conditionsOf(rule, work.tx, work.now, thresholds)));
    return reconcile(work, conditions, { rules: wanted });
  });
  await announce(deps, delivery, outcome);
  return outcome;
}

/** What the drift job found: an unexpected holding alerts, one gone from a connector resolves. */
export interface DriftFindings {
  unexpected: UnexpectedHoldingFact[];
  /** Connectors that could not list this time: their alerts are left as they are. */
  failed: { connector: string }[];
}

export async function syncDriftAlerts(
  deps: EngineDeps,
  delivery: Delivery,
  findings: DriftFindings,
): Promise<AlertOutcome> {
  const failed = new Set(findings.failed.map((f) => f.connector));
  const outcome = await inTransaction(deps, async (work) => {
    await lockAlerts(work);
    return reconcile(work, assignedOutsidePim({ unexpected: findings.unexpected }), {
      rules: ["assigned_outside_pim"],
      inScope: (row) => !failed.has(String(row.details.connector ?? "")),
    });
  });
  await announce(deps, delivery, outcome);
  return outcome;
}

/** Opens the alert for one event-reported condition at once; nothing is resolved here. */
async function openConditions(deps: EngineDeps, delivery: Delivery, conditions: AlertCondition[]) {
  const outcome = await inTransaction(deps, async (work) => {
    await lockAlerts(work);
    return reconcile(work, conditions, { rules: [] });
  });
  await announce(deps, delivery, outcome);
  return outcome;
}

/** Marks an alert seen by a PIM administrator; acknowledging twice is a no-op that says who did. */
export async function acknowledgeAlert(
  deps: EngineDeps,
  alertId: string,
  principalId: string,
): Promise<Result<AlertRecord, Refusal>> {
  return inTransaction(deps, async (work) => {
    const who = await principalById(work.tx, principalId);
    if (!who?.admin) {
      work.audit({
        event: "alert.acknowledge_refused",
        actor: who?.key ?? principalId,
        data: { code: "NOT_ALLOWED", alertId },
      });
      return err(refuse("NOT_ALLOWED", "Only PIM administrators can acknowledge alerts."));
    }
    const row = await acknowledgeOpenAlert(work.tx, alertId, who.key, work.now);
    if (row) {
      work.audit({
        event: "alert.acknowledged",
        actor: who.key,
        subject: row.subject,
        data: { alertId: row.id, rule: row.rule, condition: row.conditionKey },
      });
      return ok((await toAlertRecords(work.tx, [row]))[0]!);
    }
    const current = await getAlert(work.tx, alertId);
    return current ? ok(current) : err(refuse("NOT_FOUND", "This alert does not exist."));
  });
}

async function lockAlerts(work: Work): Promise<void> {
  await lockForTransaction(work.tx, ALERTS_LOCK_KEY);
}

type Details = { fields: AlertCondition["fields"]; connector?: string };

async function reconcile(
  work: Work,
  conditions: AlertCondition[],
  scope: { rules: AlertRule[]; inScope?: (row: { details: Details }) => boolean },
): Promise<AlertOutcome> {
  const unique = new Map(conditions.map((c) => [c.id, c]));
  const existing = scope.rules.length === 0 && unique.size === 0 ? [] : await unresolvedAlerts(work.tx);
  const have = new Map(existing.map((e) => [e.conditionKey, e]));

  const opened: AlertRow[] = [];
  const fresh = [...unique.values()].filter((c) => !have.has(c.id));
  for (const batch of chunks(fresh, 1_000)) {
    const inserted = await insertAlerts(
      work.tx,
      batch.map((c) => ({
        id: newId("alr"),
        rule: c.rule,
        conditionKey: c.id,
        severity: c.severity,
        title: c.title,
        text: c.text,
        subject: c.subject,
        details: detailsOf(c, c.occurrences?.length ?? 1),
        status: "open" as const,
        openedAt: work.now,
        lastSeenAt: work.now,
        occurrences: c.occurrences?.length || 1,
        lastOccurredAt: c.occurrences?.length ? lastOccurrence(c.occurrences) : null,
        occurrenceKeys: c.occurrences ? c.occurrences.map((o) => o.key) : null,
      })),
    );
    opened.push(...inserted);
  }

  const still = existing.filter((e) => unique.has(e.conditionKey));
  const seen = still.map((e) => e.id);
  for (const ids of chunks(seen)) await markAlertsSeen(work.tx, ids, work.now);
  const recurred: { row: AlertRow; reraised: boolean; acknowledgedBy: string | null }[] = [];
  for (const e of still) {
    const condition = unique.get(e.conditionKey)!;
    const again = await recordOccurrences(work, e, condition);
    if (again) recurred.push({ row: again, reraised: e.status === "acknowledged", acknowledgedBy: e.acknowledgedBy });
  }

  const ruleSet = new Set<string>(scope.rules);
  const cleared = existing
    .filter((e) => ruleSet.has(e.rule) && !unique.has(e.conditionKey) && (scope.inScope?.(e) ?? true))
    .map((e) => e.id);
  const resolved: AlertRow[] = [];
  for (const ids of chunks(cleared)) resolved.push(...(await resolveAlerts(work.tx, ids, work.now)));

  const events = [
    ...opened.map((a) => ({
      event: "alert.opened",
      actor: "system",
      subject: a.subject,
      data: { alertId: a.id, rule: a.rule, condition: a.conditionKey, severity: a.severity },
    })),
    ...recurred.map(({ row: a, reraised, acknowledgedBy }) => ({
      event: "alert.recurred",
      actor: "system",
      subject: a.subject,
      data: {
        alertId: a.id,
        rule: a.rule,
        condition: a.conditionKey,
        occurrences: a.occurrences,
        lastOccurredAt: a.lastOccurredAt?.toISOString() ?? null,
        ...(reraised ? { reraised: true, acknowledgedBy } : {}),
      },
    })),
    ...resolved.map((a) => ({
      event: "alert.resolved",
      actor: "system",
      subject: a.subject,
      data: { alertId: a.id, rule: a.rule, condition: a.conditionKey },
    })),
  ];
  for (const event of events) work.audit(event);
  return {
    opened: await toAlertRecords(work.tx, opened),
    recurred: await toAlertRecords(
      work.tx,
      recurred.map((r) => r.row),
    ),
    resolved: await toAlertRecords(work.tx, resolved),
    stillOpen: seen.length,
  };
}

function detailsOf(c: AlertCondition, occurrences: number): Details {
  const fields = c.occurrences?.length
    ? incidentFields(c.fields, occurrences, lastOccurrence(c.occurrences))
    : c.fields;
  return c.source ? { fields, connector: c.source } : { fields };
}

/**
 * Counts the occurrences of an incident that its unresolved alert has not counted yet, and
 * re-raises the alert if it had been acknowledged: the condition as it reads now replaces the
 * alert's text and fields. Null when nothing occurred since. An alert opened before occurrences
 * were counted takes those of the window as counted.
 */
async function recordOccurrences(
  work: Work,
  alert: { id: string; occurrences: number; occurrenceKeys: string[] | null },
  condition: AlertCondition,
): Promise<AlertRow | null> {
  if (!condition.occurrences) return null;
  const keys = condition.occurrences.map((o) => o.key);
  if (alert.occurrenceKeys === null) {
    await setOccurrenceKeys(work.tx, alert.id, keys);
    return null;
  }
  const fresh = newOccurrences(condition, alert.occurrenceKeys);
  if (!fresh) return null;
  const occurrences = alert.occurrences + fresh.length;
  const row = await recordRecurrence(work.tx, alert.id, {
    title: condition.title,
    text: condition.text,
    details: detailsOf(condition, occurrences),
    occurrences,
    lastOccurredAt: lastOccurrence(condition.occurrences),
    occurrenceKeys: keys,
  });
  return row ?? null;
}

/** Cards for what opened, redraws for what resolved; a card only for alerts that had one. */
async function announce(deps: EngineDeps, delivery: Delivery, outcome: AlertOutcome): Promise<void> {
  const byRule = new Map<string, AlertRecord[]>();
  for (const a of outcome.opened) byRule.set(a.rule, [...(byRule.get(a.rule) ?? []), a]);
  const posted: string[] = [];
  for (const [rule, list] of byRule) {
    for (const alert of list.slice(0, CARDS_PER_RULE))
      if (await delivery.toAlertChannel({ type: "alert", alert }, { subjectId: alert.id, kind: "alert" }))
        posted.push(alert.id);
    if (list.length > CARDS_PER_RULE)
      await delivery.toAlertChannel({
        type: "alerts.overflow",
        rule,
        title: list[0]!.title,
        count: list.length - CARDS_PER_RULE,
        at: deps.clock.now(),
      });
  }
  // An incident that occurred again is redrawn with its count (open again if it was acknowledged).
  for (const alert of outcome.recurred)
    if (await delivery.toAlertChannel({ type: "alert", alert }, { subjectId: alert.id, kind: "alert" }))
      posted.push(alert.id);
  for (const ids of chunks(posted)) await markAlertsPosted(deps.db, ids, deps.clock.now());
  const resolvedIds = outcome.resolved.map((a) => a.id);
  const shown = new Set<string>();
  for (const ids of chunks(resolvedIds)) for (const id of await postedAlertIds(deps.db, ids)) shown.add(id);
  for (const alert of outcome.resolved)
    if (shown.has(alert.id))
      await delivery.toAlertChannel({ type: "alert", alert }, { subjectId: alert.id, kind: "alert" });
}

/** Which rule an engine alert event is about; the others are not evaluated on events. */
const RULE_OF_EVENT: Partial<Record<string, AlertRule>> = {
  break_glass_used: "break_glass_used",
  unauthorized_approval: "unauthorized_approval",
  grant_failed: "grant_failed",
  revoke_failing: "revoke_failing",
  target_failing: "target_failing",
  mfa_failures: "mfa_failures",
  mfa_locked: "mfa_locked",
  mfa_factor_changed: "mfa_factor_changed",
};

/**
 * Evaluates the rule an engine alert event is about as soon as the event is published (after the
 * commit that made it true), so a break-glass use reaches the channel within a second. Bursts of
 * events for one rule collapse into one more evaluation.
 */
export class AlertTriggers {
  private readonly running = new Map<string, { done: Promise<void>; again: boolean }>();

  constructor(
    private readonly deps: EngineDeps,
    private readonly delivery: Delivery,
    private readonly onError: (error: unknown) => void,
  ) {}

  readonly onEvent = (event: EngineEvent): void => {
    if (event.type !== "alert") return;
    if (event.kind === "assigned_outside_pim") {
      const d = event.detail;
      const holding = {
        connector: String(d.connector ?? "unknown"),
        login: event.subject,
        role: String(d.role ?? "?"),
        scope: String(d.scope ?? "/"),
      };
      this.run(`drift:${holding.login}:${holding.role}:${holding.scope}`, () =>
        openConditions(this.deps, this.delivery, assignedOutsidePim({ unexpected: [holding] })),
      );
      return;
    }
    const rule = RULE_OF_EVENT[event.kind];
    if (rule) this.run(rule, () => evaluateAlerts(this.deps, this.delivery, [rule]));
  };

  /** Resolves once every triggered evaluation has finished (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private run(key: string, work: () => Promise<unknown>): void {
    const current = this.running.get(key);
    if (current) {
      current.again = true;
      return;
    }
    const entry = { done: Promise.resolve(), again: false };
    entry.done = (async () => {
      do {
        entry.again = false;
        try {
          await work();
        } catch (error) {
          this.onError(error);
        }
      } while (entry.again);
    })().finally(() => this.running.delete(key));
    this.running.set(key, entry);
  }
}
