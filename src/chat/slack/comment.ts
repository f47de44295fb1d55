import { commentField, FIELDS } from "../views/action-ids.js";

type StateValues = Record<string, Record<string, { value?: string | null } | undefined> | undefined>;

/** What the clicker typed in the comment box next to this request's buttons, if anything. */
export function commentOf(body: { state?: { values?: unknown } }, requestId: string): string | null {
  const values = (body.state?.values ?? {}) as StateValues;
  const typed = values[commentField(requestId)]?.[FIELDS.comment]?.value;
  return typeof typed === "string" && typed.trim() !== "" ? typed.trim() : null;
}
