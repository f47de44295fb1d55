/**
 * What an assignment looks like to the people around it: plain data the use cases return and
 * the chat views draw, as request-view.ts is for requests.
 */

/** One of a person's assignments, theirs or a group's, as `assignments` lists it. */
export interface AssignmentListRow {
  id: string;
  roleName: string;
  scope: string;
  kind: "eligible" | "active";
  /** The group it is held through, when not the person's own. */
  viaGroup: string | null;
  startsAt: Date | null;
  endsAt: Date | null;
  /** Declared in pim.yaml: only the file changes it. */
  declared: boolean;
  /** What the person may ask for now: a later end, or the ended assignment back. */
  may: "extend" | "renew" | null;
}

/** An assignment as a form, a receipt or a removal names it. */
export interface AssignmentSubject {
  assignmentId: string;
  principalName: string;
  roleName: string;
  scope: string;
  kind: "eligible" | "active";
  startsAt: Date | null;
  endsAt: Date | null;
}
