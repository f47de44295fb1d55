import type { Logger } from "pino";
import type { Principal } from "../../app/kernel/chat-identity.js";
import type { EngineDeps } from "../../app/kernel/unit-of-work.js";
import type { ChatNotifier } from "../notify/notifier.js";
import type { ChatPorts } from "../ports.js";
import type { Card, Rich } from "../views/card.js";
import type { RecordingPolicy } from "./recording.js";

export type { Principal };

/** What a flow may say to one person: a line, or a whole card. */
export type Reply = Card | Rich | string;

/** The lists a person can ask for, each drawn again from the database when it is refreshed. */
export type ListView = "status" | "pending" | "roles" | "help" | "active" | "assignments";

/** A form a flow asks the platform to open (Slack: a modal; Teams: a form card in the chat). */
export type FormRequest =
  | { kind: "request"; preselectRoleId: string | null }
  | { kind: "extend"; activationId: string }
  | { kind: "deny"; requestId: string }
  | { kind: "review-remove"; itemId: string }
  /** An administrator revokes someone's activation: the reason first. */
  | { kind: "revoke"; activationId: string }
  /** The holder asks for a later end of an assignment, or to have an ended one back: a reason and the day. */
  | { kind: "assignment-extend"; assignmentId: string }
  | { kind: "assignment-renew"; assignmentId: string }
  /** An administrator assigns a user or group to a role. */
  | { kind: "assign" }
  /** An administrator removes an assignment: the reason first. */
  | { kind: "assignment-remove"; assignmentId: string };

/**
 * One person's action, turned by a platform into something the flows can answer without knowing
 * where it came from: who acted (the platform's verified user, mapped to a principal) and the
 * ways to answer them.
 */
export interface Interaction {
  platform: "slack" | "teams";
  /**
   * The id of the inbound request this came in on: every log line about it carries it, and the
   * person is given it when something fails, so what they report can be found.
   */
  requestId: string;
  /**
   * How long the work may be tried again after the database failed it, in ms, before the person
   * must be answered: as long as the platform waits for the answer (Teams), or the whole window
   * when the platform was answered at once (Slack).
   */
  retryWithinMs: number;
  /** Tells the person their action did not count, in a way that needs nothing from the database. */
  notRecorded(text: string): Promise<void>;
  /**
   * How long the platform waits for its answer, in ms (Teams: 15 s at most; Slack was answered at
   * once). Work still being tried past it calls `late` once and goes on; later answers reach the
   * person some other way.
   */
  answerWithinMs: number;
  late(text: string): void;
  /**
   * Who acted, from the platform's verified user id, never from anything in the payload. Someone
   * PIM does not know is told so and the attempt is audited; then it is undefined.
   */
  identify(attempted: string): Promise<Principal | undefined>;
  /** False in a Teams channel or group chat: whatever is said there, everyone reads. */
  personal: boolean;
  /**
   * Tells only this person something: a refusal, a list, a link. `view` names a list that can be
   * drawn again later for whoever looks at it (Teams redraws such cards when they are opened).
   */
  reply(content: Reply, view?: ListView): Promise<void>;
  /**
   * A success the person should see where the card they clicked does not already say it; `always`
   * when no card shows it (an applied review's count).
   */
  confirm(text: string, always?: boolean): Promise<void>;
  openForm(form: FormRequest): Promise<void>;
  /**
   * Puts a file in the person's direct chat with the bot: uploaded where the platform lets a bot
   * upload (Slack), else as a short-lived, single-use download link (Teams).
   */
  sendFile(file: OutgoingFile): Promise<void>;
}

/** A file for one person, with the line that goes with it. */
export interface OutgoingFile {
  filename: string;
  title: string;
  contentType: string;
  content: Buffer;
  note: string;
}

/** An interaction whose person is known. */
export interface Acting extends Interaction {
  me: Principal;
}

/** Identifies the person once; undefined (and they are told) when PIM does not know them. */
export async function acting(ix: Interaction, attempted: string): Promise<Acting | undefined> {
  const me = await ix.identify(attempted);
  return me ? { ...ix, me } : undefined;
}

/** What every flow works with, built once in composition. */
export interface FlowContext {
  deps: EngineDeps;
  ports: ChatPorts;
  notifier: ChatNotifier;
  log: Logger;
  /** How clicks and forms are tried again when the database fails them for a moment. */
  recording: RecordingPolicy;
  /** The command as people type it on this platform: "/elevate" on Slack, "elevate" on Teams. */
  command: string;
  /** Who people should ask for access, in the "no eligible roles" message. */
  askWho: string;
}

/** What a click carries besides its value: what was typed next to the button (Teams' and Slack's comment box). */
export interface ClickInput {
  comment: string | null;
}
