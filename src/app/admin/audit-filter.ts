/**
 * The audit log read from chat: the filter a person typed (who, which role, which events, when)
 * turned into the filter `pim audit query` and `pim audit export` take, once the reader is known
 * to be an administrator or a named auditor. A name that matches nothing is refused with the
 * name, and audited like every refusal, rather than answered with an empty list.
 */
import type { AuditFilter, AuditRow } from "../../db/audit-log.js";
import {
  type ChatPlatformName,
  principalByKey,
  principalByPlatformId,
  roleByKeyOrName,
  userByEmail,
} from "../../db/repos/directory.js";
import { auditEventNamesStartingWith, auditHasRole, newestAuditEvents } from "../../db/repos/history.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { type Actor, authorizeAuditReader, refuseAdministration } from "./administrators.js";
import type { PersonReference } from "./revocable.js";

/** What a person asked for, before anything in it is looked up. */
export interface AuditTerms {
  person?: PersonReference;
  /** A role's key or name. */
  role?: string;
  /** Event names, or the starts of names. */
  events?: string[];
  from?: Date;
  to?: Date;
}

export type ResolvedAuditFilter = Pick<AuditFilter, "from" | "to" | "principal" | "role" | "event">;

/** The newest `limit` events matching what the reader asked for, newest first, and whether there are more. */
export async function auditFromChat(
  deps: EngineDeps,
  actor: Actor,
  platform: ChatPlatformName,
  terms: AuditTerms,
  limit: number,
): Promise<Result<{ filter: ResolvedAuditFilter; rows: AuditRow[]; more: boolean }, Refusal>> {
  return inTransaction(deps, async (work) => {
    const filter = await resolveFor(work, actor, platform, terms, "audit.query");
    if (!filter.ok) return filter;
    const rows = await newestAuditEvents(work.tx, filter.value, limit + 1);
    return ok({ filter: filter.value, rows: rows.slice(0, limit), more: rows.length > limit });
  });
}

/** The filter an export from chat runs with: the same as `pim audit export`'s with the same names. */
export async function auditExportFilter(
  deps: EngineDeps,
  actor: Actor,
  platform: ChatPlatformName,
  terms: AuditTerms,
): Promise<Result<ResolvedAuditFilter, Refusal>> {
  return inTransaction(deps, (work) => resolveFor(work, actor, platform, terms, "audit.export"));
}

/**
 * Whether the actor may read the audit log, for a filter that could not even be read: someone who
 * may not is refused (and audited) before being told what was wrong with it.
 */
export async function checkAuditReader(
  deps: EngineDeps,
  actor: Actor,
  action: "audit.query" | "audit.export",
): Promise<Result<null, Refusal>> {
  return inTransaction(deps, async (work) => {
    const reader = await authorizeAuditReader(work, actor, action);
    return reader.ok ? ok(null) : reader;
  });
}

async function resolveFor(
  work: Work,
  actor: Actor,
  platform: ChatPlatformName,
  terms: AuditTerms,
  action: string,
): Promise<Result<ResolvedAuditFilter, Refusal>> {
  const reader = await authorizeAuditReader(work, actor, action);
  if (!reader.ok) return reader;
  const refused = (message: string) => {
    const refusal = refuse("NOT_FOUND", message);
    refuseAdministration(work, reader.value.key, action, refusal, { filter: describe(terms) });
    return err(refusal);
  };
  const filter: ResolvedAuditFilter = {};
  if (terms.from) filter.from = terms.from;
  if (terms.to) filter.to = terms.to;
  if (terms.person) {
    const key = await personKey(work, platform, terms.person);
    if (!key) return refused(`person: I don't know who "${cut(describePerson(terms.person))}" is in PIM.`);
    filter.principal = key;
  }
  if (terms.role) {
    const role = await roleByKeyOrName(work.tx, terms.role);
    const key = role?.key ?? ((await auditHasRole(work.tx, terms.role)) ? terms.role : null);
    if (!key) return refused(`role: no role is called "${cut(terms.role)}"; use its key or its name.`);
    filter.role = key;
  }
  if (terms.events) {
    const names = new Set<string>();
    for (const typed of terms.events) {
      const found = await auditEventNamesStartingWith(work.tx, typed);
      // An exact name stands for itself alone; anything else for every name it starts.
      const matched = found.includes(typed) ? [typed] : found;
      if (matched.length === 0)
        return refused(`event: no event in the audit log is called "${cut(typed)}" or has a name starting with it.`);
      for (const name of matched) names.add(name);
    }
    filter.event = [...names];
  }
  return ok(filter);
}

async function personKey(work: Work, platform: ChatPlatformName, person: PersonReference): Promise<string | null> {
  if ("platformId" in person) {
    const id = platform === "teams" ? person.platformId.toLowerCase() : person.platformId;
    return (await principalByPlatformId(work.tx, platform, id))?.key ?? null;
  }
  const text = person.text.trim();
  const found = text.includes("@")
    ? await userByEmail(work.tx, text)
    : ((await principalByKey(work.tx, text)) ?? (await principalByKey(work.tx, text.toLowerCase())));
  return found?.key ?? null;
}

const describePerson = (person: PersonReference) => ("platformId" in person ? person.platformId : person.text);

function describe(terms: AuditTerms): Record<string, unknown> {
  return {
    person: terms.person ? describePerson(terms.person) : null,
    role: terms.role ?? null,
    events: terms.events ?? null,
    from: terms.from?.toISOString() ?? null,
    to: terms.to?.toISOString() ?? null,
  };
}

const cut = (text: string) => (text.length > 80 ? `${text.slice(0, 79)}…` : text);
