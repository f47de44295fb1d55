/**
 * The product's chat flows, written once as data and run on every platform through a driver
 * (Slack now; Teams adds its own driver and runs the same list). Steps use people's keys from
 * the fixture and the words the neutral views print, so they read the same on both platforms.
 */
import { expect } from "vitest";

export type CardKind = "requester" | "approver" | "channel" | "notice";

export interface Ask {
  roles: string[];
  duration: string;
  justification?: string;
  ticket?: string;
  /** The start field as typed ("in 2h"); absent: now. */
  start?: string;
  /** The narrower-scope field as typed. */
  childScope?: string;
}

/** A card as a person sees it: its words, and the labels of its buttons. */
export interface CardView {
  text: string;
  buttons: string[];
}

/** What a platform must do for the scenarios: act like a person in the chat client. */
export interface ChatDriver {
  readonly platform: string;
  /** Opens the request form, picks roles, fills it in and submits; returns the field errors shown. */
  request(user: string, ask: Ask): Promise<Record<string, string>>;
  /** Clicks Approve on the user's card (their DM, or the approvers' channel); `stale` clicks the first version. */
  approve(user: string, opts?: { stale?: boolean; via?: "dm" | "channel"; comment?: string }): Promise<void>;
  deny(user: string, comment: string): Promise<Record<string, string>>;
  endNow(user: string): Promise<void>;
  /** Clicks Cancel request on the user's own request card. */
  cancel(user: string): Promise<void>;
  /** The newest card of a kind shown to a user (null: a channel card). */
  card(user: string | null, kind: CardKind): Promise<CardView | undefined>;
  /** Messages only this user was shown (ephemeral replies), oldest first. */
  notes(user: string): Promise<string[]>;
}

export interface ScenarioWorld {
  driver: ChatDriver;
  runJobs(): Promise<void>;
  /** Moves the clock on and runs the sweep (time-outs, expiry), then lets chat catch up. */
  wait(ms: number): Promise<void>;
  satisfyMfa(user: string): Promise<void>;
  held(user: string, role: string): Promise<boolean>;
}

export type Step =
  | ({ do: "request"; user: string; errors?: Record<string, string> } & Ask)
  | { do: "approve"; user: string; stale?: boolean; via?: "dm" | "channel" }
  | { do: "deny"; user: string; comment: string }
  | { do: "endNow"; user: string }
  | { do: "cancel"; user: string }
  | { do: "mfa"; user: string }
  | { do: "runJobs" }
  | { do: "wait"; minutes: number }
  | { expect: "card"; user: string | null; kind: CardKind; shows: string[]; buttons?: string[] }
  | { expect: "noCard"; user: string | null; kind: CardKind }
  | { expect: "note"; user: string; shows: string[] }
  | { expect: "held"; user: string; role: string; held: boolean };

export interface Scenario {
  name: string;
  steps: Step[];
}

const asked = (ticket = "INC-123456") => ({ justification: "Restore the orders table", ticket });

export const SCENARIOS: Scenario[] = [
  {
    name: "request → approver DM → approve → grant → requester card updated → end now → revoke",
    steps: [
      { do: "request", user: "alice", roles: ["db-admin"], duration: "2h", ...asked() },
      {
        expect: "card",
        user: "alice",
        kind: "requester",
        shows: ["Waiting for approval", "Database Administrator at /mg/prod", "Bob Brown", "Restore the orders table"],
        buttons: ["Cancel request"],
      },
      {
        expect: "card",
        user: "bob",
        kind: "approver",
        shows: [
          "Approval needed",
          "Alice Adams asks for Database Administrator for 2h",
          "INC-123456",
          "activated 0 times in the last 30 days",
          "Restore the orders table",
        ],
        buttons: ["Approve", "Deny"],
      },
      { expect: "held", user: "alice", role: "db-admin", held: false },
      { do: "approve", user: "bob" },
      { expect: "card", user: "bob", kind: "approver", shows: ["Approved by Bob Brown at 09:00 UTC"], buttons: [] },
      { expect: "card", user: "carol", kind: "approver", shows: ["Approved by Bob Brown at 09:00 UTC"], buttons: [] },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "db-admin", held: true },
      {
        expect: "card",
        user: "alice",
        kind: "requester",
        shows: ["Active until 11:00 UTC", "active until 11:00 UTC (2h left)"],
        buttons: ["End now", "Extend"],
      },
      { expect: "card", user: null, kind: "notice", shows: ["Alice Adams activated Database Administrator"] },
      { do: "endNow", user: "alice" },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "db-admin", held: false },
      { expect: "card", user: "alice", kind: "requester", shows: ["Ended", "ended: ended early"], buttons: [] },
      { expect: "card", user: null, kind: "notice", shows: ["Alice Adams had Database Administrator"] },
    ],
  },
  {
    name: "deny with a comment: every card says who denied, the requester reads why",
    steps: [
      { do: "request", user: "alice", roles: ["db-admin"], duration: "1h", ...asked() },
      { do: "deny", user: "carol", comment: "Use the read replica" },
      {
        expect: "card",
        user: "alice",
        kind: "requester",
        shows: ["Denied", "Denied by Carol Chen at 09:00 UTC", "Use the read replica"],
        buttons: [],
      },
      { expect: "card", user: "bob", kind: "approver", shows: ["Denied by Carol Chen at 09:00 UTC"], buttons: [] },
      { expect: "held", user: "alice", role: "db-admin", held: false },
    ],
  },
  {
    name: "nobody decides: the request times out and every card says so",
    steps: [
      { do: "request", user: "alice", roles: ["db-admin"], duration: "1h", ...asked() },
      { do: "wait", minutes: 121 },
      {
        expect: "card",
        user: "alice",
        kind: "requester",
        shows: ["Timed out", "No decision before the approval deadline"],
        buttons: [],
      },
      { expect: "card", user: "dave", kind: "approver", shows: ["Timed out", "the request timed out"], buttons: [] },
      { do: "approve", user: "dave", stale: true },
      { expect: "note", user: "dave", shows: ["already timed out"] },
    ],
  },
  {
    name: "several roles in one request: each role moves on by its own policy",
    steps: [
      { do: "request", user: "alice", roles: ["reader", "db-admin"], duration: "1h", ...asked() },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "reader", held: true },
      { expect: "held", user: "alice", role: "db-admin", held: false },
      {
        expect: "card",
        user: "alice",
        kind: "requester",
        shows: ["Reader at / — active until 10:00 UTC", "Database Administrator at /mg/prod — waiting for approval"],
      },
      { expect: "card", user: "bob", kind: "approver", shows: ["Database Administrator and Reader"] },
      { do: "approve", user: "bob" },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "db-admin", held: true },
      {
        expect: "card",
        user: "alice",
        kind: "requester",
        shows: ["Database Administrator at /mg/prod — active until 10:00 UTC"],
        buttons: ["End now Database Administrator", "Extend Database Administrator", "End now Reader", "Extend Reader"],
      },
    ],
  },
  {
    name: "two of three approvers, after the requester's MFA",
    steps: [
      {
        do: "request",
        user: "alice",
        roles: ["global-admin"],
        duration: "1h",
        justification: "Rotate the tenant keys",
      },
      {
        expect: "card",
        user: "alice",
        kind: "requester",
        shows: ["Complete MFA to continue"],
        buttons: ["Complete MFA", "Cancel request"],
      },
      { expect: "noCard", user: "bob", kind: "approver" },
      { do: "mfa", user: "alice" },
      {
        expect: "card",
        user: "bob",
        kind: "approver",
        shows: ["Needs 2 approvals; 0 so far"],
        buttons: ["Approve", "Deny"],
      },
      { do: "approve", user: "bob" },
      {
        expect: "card",
        user: "bob",
        kind: "approver",
        shows: ["You approved at 09:00 UTC", "Needs 2 approvals; 1 so far"],
        buttons: [],
      },
      {
        expect: "card",
        user: "carol",
        kind: "approver",
        shows: ["Approved by Bob Brown"],
        buttons: ["Approve", "Deny"],
      },
      { expect: "card", user: "alice", kind: "requester", shows: ["waiting for approval (1 of 2)"] },
      { expect: "held", user: "alice", role: "global-admin", held: false },
      { do: "approve", user: "carol" },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "global-admin", held: true },
      {
        expect: "card",
        user: "dave",
        kind: "approver",
        shows: ["Approved", "Approved by Bob Brown at 09:00 UTC and Carol Chen at 09:00 UTC"],
        buttons: [],
      },
    ],
  },
  {
    name: "the requester cancels while approvers wait: every card closes",
    steps: [
      { do: "request", user: "alice", roles: ["db-admin"], duration: "1h", ...asked() },
      { do: "cancel", user: "alice" },
      {
        expect: "card",
        user: "alice",
        kind: "requester",
        shows: ["Canceled", "You canceled this request."],
        buttons: [],
      },
      {
        expect: "card",
        user: "carol",
        kind: "approver",
        shows: ["Canceled", "The requester canceled this request."],
        buttons: [],
      },
      { do: "approve", user: "carol", stale: true },
      { expect: "note", user: "carol", shows: ["already canceled"] },
      { expect: "held", user: "alice", role: "db-admin", held: false },
    ],
  },
  {
    name: "a late click on a stale card is told who decided and when, and changes nothing",
    steps: [
      { do: "request", user: "alice", roles: ["db-admin"], duration: "1h", ...asked() },
      { do: "approve", user: "bob" },
      { do: "approve", user: "carol", stale: true },
      { expect: "note", user: "carol", shows: ["Already approved by Bob Brown at 09:00 UTC"] },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "db-admin", held: true },
      { expect: "card", user: "carol", kind: "approver", shows: ["Approved by Bob Brown at 09:00 UTC"], buttons: [] },
    ],
  },
  {
    name: "approvals routed to a channel: one shared card, only approvers can act",
    steps: [
      { do: "request", user: "alice", roles: ["deploy"], duration: "1h", justification: "Ship the hotfix" },
      { expect: "noCard", user: "bob", kind: "approver" },
      {
        expect: "card",
        user: null,
        kind: "channel",
        shows: ["Approval needed", "Production Deployer"],
        buttons: ["Approve", "Deny"],
      },
      { do: "approve", user: "frank", via: "channel" },
      { expect: "note", user: "frank", shows: ["You are not an approver for this request."] },
      { expect: "held", user: "alice", role: "deploy", held: false },
      { do: "approve", user: "dave", via: "channel" },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "deploy", held: true },
      { expect: "card", user: null, kind: "channel", shows: ["Approved by Dave Dale at 09:00 UTC"], buttons: [] },
    ],
  },
  {
    name: "a scheduled start: approved before it, granted at it, for the time asked",
    steps: [
      { do: "request", user: "alice", roles: ["db-admin"], duration: "1h", start: "in 2h", ...asked() },
      { expect: "card", user: "alice", kind: "requester", shows: ["Waiting for approval", "Starts", "11:00 UTC"] },
      { do: "approve", user: "bob" },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "db-admin", held: false },
      {
        expect: "card",
        user: "alice",
        kind: "requester",
        shows: ["Approved, scheduled", "the role is granted at 11:00 UTC"],
        buttons: ["Cancel request"],
      },
      { do: "wait", minutes: 121 },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "db-admin", held: true },
      { expect: "card", user: "alice", kind: "requester", shows: ["Active until 12:01 UTC"] },
    ],
  },
  {
    name: "a scheduled start canceled before it comes: nothing is granted",
    steps: [
      { do: "request", user: "alice", roles: ["reader"], duration: "1h", start: "2026-11-02 10:00", ...asked() },
      { expect: "card", user: "alice", kind: "requester", shows: ["Approved, scheduled"], buttons: ["Cancel request"] },
      { do: "cancel", user: "alice" },
      { expect: "card", user: "alice", kind: "requester", shows: ["Canceled"], buttons: [] },
      { do: "wait", minutes: 90 },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "reader", held: false },
    ],
  },
  {
    name: "a start that cannot be read, or has passed, is refused next to the field",
    steps: [
      {
        do: "request",
        user: "alice",
        roles: ["reader"],
        duration: "1h",
        start: "tomorrow",
        ...asked(),
        errors: { start: 'I can\'t read "tomorrow" as a start: write in 2h, or 2026-12-06 09:00 (UTC).' },
      },
      {
        do: "request",
        user: "alice",
        roles: ["reader"],
        duration: "1h",
        start: "2026-11-01 09:00",
        ...asked(),
        errors: { start: "The start 2026-11-01T09:00:00.000Z has passed; leave it empty to start now." },
      },
      { expect: "held", user: "alice", role: "reader", held: false },
    ],
  },
  {
    name: "a narrower scope, where the role allows one",
    steps: [
      {
        do: "request",
        user: "alice",
        roles: ["reader", "db-admin"],
        duration: "1h",
        childScope: "/mg/prod/db",
        ...asked(),
        errors: {
          child_scope:
            "Database Administrator is activated at the scope you are eligible at, not below it; /mg/prod/db is narrower.",
        },
      },
      { do: "request", user: "alice", roles: ["reader"], duration: "1h", childScope: "/mg/prod/db", ...asked() },
      { do: "runJobs" },
      { expect: "held", user: "alice", role: "reader", held: true },
      { expect: "card", user: "alice", kind: "requester", shows: ["Reader at /mg/prod/db"] },
    ],
  },
];

const MINUTE = 60_000;

export async function runScenario(scenario: Scenario, world: ScenarioWorld): Promise<void> {
  const d = world.driver;
  for (const [i, step] of scenario.steps.entries()) {
    const where = `${scenario.name}, step ${i + 1}`;
    if ("do" in step) {
      switch (step.do) {
        case "request": {
          const { do: _, user, errors, ...ask } = step;
          expect(await d.request(user, ask), where).toEqual(errors ?? {});
          break;
        }
        case "approve":
          await d.approve(step.user, { stale: step.stale, via: step.via });
          break;
        case "deny":
          expect(await d.deny(step.user, step.comment), where).toEqual({});
          break;
        case "endNow":
          await d.endNow(step.user);
          break;
        case "cancel":
          await d.cancel(step.user);
          break;
        case "mfa":
          await world.satisfyMfa(step.user);
          break;
        case "runJobs":
          await world.runJobs();
          break;
        case "wait":
          await world.wait(step.minutes * MINUTE);
          break;
      }
      continue;
    }
    switch (step.expect) {
      case "card": {
        const card = await d.card(step.user, step.kind);
        expect(card, `${where}: no ${step.kind} card for ${step.user ?? "the channel"}`).toBeDefined();
        for (const words of step.shows) expect(card!.text, where).toContain(words);
        if (step.buttons) expect(card!.buttons, where).toEqual(step.buttons);
        break;
      }
      case "noCard":
        expect(await d.card(step.user, step.kind), where).toBeUndefined();
        break;
      case "note": {
        const notes = (await d.notes(step.user)).join("\n");
        for (const words of step.shows) expect(notes, where).toContain(words);
        break;
      }
      case "held":
        expect(await world.held(step.user, step.role), where).toBe(step.held);
        break;
    }
  }
}
