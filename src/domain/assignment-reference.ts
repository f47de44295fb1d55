/**
 * How people name an assignment in chat: the first characters of its id after the `asg_` prefix,
 * short enough to type (`/elevate admin remove 5Hq3kLm9 …`), long enough never to be confused in
 * practice (base58, 8 characters ≈ 47 bits). The full id is accepted as well.
 */
export const REFERENCE_LENGTH = 8;
/** Fewer characters than this are not taken as a reference at all. */
export const MIN_REFERENCE_LENGTH = 6;

export function assignmentReference(assignmentId: string): string {
  return assignmentId.replace(/^asg_/, "").slice(0, REFERENCE_LENGTH);
}

/** The id prefix a typed reference stands for (`#5Hq3kLm9`, `5Hq3kLm9` or `asg_5Hq3…`); null when it cannot be one. */
export function referencePrefix(typed: string): string | null {
  const text = typed.trim().replace(/^#/, "").replace(/^asg_/, "");
  if (text.length < MIN_REFERENCE_LENGTH || !/^[1-9A-HJ-NP-Za-km-z]+$/.test(text)) return null;
  return `asg_${text}`;
}
