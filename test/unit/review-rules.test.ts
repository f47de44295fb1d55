import { describe, expect, it } from "vitest";
import { DAY, HOUR } from "../../src/domain/duration.js";
import {
  checkReviewer,
  dueReminders,
  outcomeOf,
  type ReviewSettings,
  recommend,
  recurrenceCron,
  reviewersFor,
  wallClock,
} from "../../src/domain/review-rules.js";

const now = new Date("2026-11-02T09:00:00Z");
const settings = (over: Partial<ReviewSettings> = {}): ReviewSettings => ({
  title: "t",
  roleIds: [],
  groupIds: [],
  kinds: ["eligible", "active"],
  reviewerMode: "manager",
  reviewerIds: [],
  fallbackIds: [],
  unanswered: "keep",
  inactiveDays: 30,
  autoApply: true,
  remindersMs: [],
  ...over,
});

describe("who reviews", () => {
  const bob = { id: "usr_bob", kind: "user" as const, managerId: "usr_erin" };
  it("is the holder in a self-review (a group's members, through the group)", () => {
    expect(reviewersFor(bob, settings({ reviewerMode: "self" }), [])).toEqual(["usr_bob"]);
    expect(
      reviewersFor({ id: "grp_dba", kind: "group", managerId: null }, settings({ reviewerMode: "self" }), []),
    ).toEqual(["grp_dba"]);
  });
  it("is the manager, else the fallback reviewers, else the administrators", () => {
    expect(reviewersFor(bob, settings(), ["usr_admin"])).toEqual(["usr_erin"]);
    const noManager = { ...bob, managerId: null };
    expect(reviewersFor(noManager, settings({ fallbackIds: ["grp_sec"] }), ["usr_admin"])).toEqual(["grp_sec"]);
    expect(reviewersFor(noManager, settings(), ["usr_admin"])).toEqual(["usr_admin"]);
  });
  it("never makes the holder their own reviewer outside a self-review", () => {
    const named = settings({ reviewerMode: "named", reviewerIds: ["usr_bob"], fallbackIds: ["usr_bob", "usr_carol"] });
    expect(reviewersFor(bob, named, ["usr_bob"])).toEqual(["usr_carol"]);
    expect(
      reviewersFor(bob, settings({ reviewerMode: "named", reviewerIds: ["usr_bob"] }), ["usr_bob", "usr_erin"]),
    ).toEqual(["usr_erin"]);
  });
});

describe("who may decide", () => {
  const item = { holderId: "usr_bob", reviewers: ["grp_sec"] };
  it("a reviewer directly or through a group", () => {
    expect(checkReviewer({ id: "usr_erin", groupIds: ["grp_sec"] }, item, "named").ok).toBe(true);
    expect(checkReviewer({ id: "usr_carol", groupIds: [] }, item, "named")).toMatchObject({
      ok: false,
      error: { code: "NOT_A_REVIEWER" },
    });
  });
  it("not the holder, nor a member of the holding group, unless it is a self-review", () => {
    const own = { holderId: "usr_bob", reviewers: ["grp_sec"] };
    expect(checkReviewer({ id: "usr_bob", groupIds: ["grp_sec"] }, own, "named")).toMatchObject({
      ok: false,
      error: { code: "SELF_REVIEW" },
    });
    const groupHeld = { holderId: "grp_dba", reviewers: ["grp_sec"] };
    expect(checkReviewer({ id: "usr_erin", groupIds: ["grp_sec", "grp_dba"] }, groupHeld, "manager")).toMatchObject({
      ok: false,
      error: { code: "SELF_REVIEW" },
    });
    expect(
      checkReviewer({ id: "usr_bob", groupIds: [] }, { holderId: "usr_bob", reviewers: ["usr_bob"] }, "self").ok,
    ).toBe(true);
  });
});

describe("recommendations and outcomes", () => {
  it("recommends removing an eligibility not activated within N days", () => {
    const old = new Date(now.getTime() - 90 * DAY);
    expect(recommend({ kind: "eligible", since: old, lastActivatedAt: null }, 30, now)).toBe("remove");
    expect(
      recommend({ kind: "eligible", since: old, lastActivatedAt: new Date(now.getTime() - 31 * DAY) }, 30, now),
    ).toBe("remove");
    expect(
      recommend({ kind: "eligible", since: old, lastActivatedAt: new Date(now.getTime() - 29 * DAY) }, 30, now),
    ).toBe("keep");
    expect(
      recommend({ kind: "eligible", since: new Date(now.getTime() - 5 * DAY), lastActivatedAt: null }, 30, now),
    ).toBe("keep");
    expect(recommend({ kind: "active", since: old, lastActivatedAt: null }, 30, now)).toBe("keep");
  });
  it("takes the decision, else what the review says about silence", () => {
    expect(outcomeOf("keep", "remove", "remove")).toBe("keep");
    expect(outcomeOf(null, "keep", "remove")).toBe("keep");
    expect(outcomeOf(null, "remove", "keep")).toBe("remove");
    expect(outcomeOf(null, "recommendation", "remove")).toBe("remove");
  });
  it("sends each reminder once, when its time before the end has come", () => {
    const end = new Date(now.getTime() + 3 * DAY);
    expect(dueReminders(end, [2 * DAY, DAY], [], now)).toEqual([]);
    const later = new Date(end.getTime() - 36 * HOUR);
    expect(dueReminders(end, [2 * DAY, DAY], [], later)).toEqual([2 * DAY]);
    expect(dueReminders(end, [2 * DAY, DAY], [2 * DAY], new Date(end.getTime() - HOUR))).toEqual([DAY]);
    expect(dueReminders(end, [DAY], [], end)).toEqual([]);
  });
});

describe("recurrence", () => {
  it("repeats the wall-clock time of the first start in the review's time zone", () => {
    // 09:00 in Paris on Tuesday 1 December 2026 is 08:00 UTC.
    const start = new Date("2026-12-01T08:00:00Z");
    expect(wallClock(start, "Europe/Paris")).toMatchObject({ month: 12, day: 1, hour: 9, minute: 0, weekday: 2 });
    expect(recurrenceCron({ kind: "weekly" }, start, "Europe/Paris")).toBe("0 9 * * 2");
    expect(recurrenceCron({ kind: "monthly" }, start, "Europe/Paris")).toBe("0 9 1 * *");
    expect(recurrenceCron({ kind: "quarterly" }, start, "Europe/Paris")).toBe("0 9 1 3,6,9,12 *");
    expect(recurrenceCron({ kind: "semiannually" }, start, "Europe/Paris")).toBe("0 9 1 6,12 *");
    expect(recurrenceCron({ kind: "annually" }, start, "Europe/Paris")).toBe("0 9 1 12 *");
    expect(recurrenceCron({ kind: "cron", expression: "30 8 * * 1" }, null, "UTC")).toBe("30 8 * * 1");
    expect(recurrenceCron({ kind: "one-time" }, start, "UTC")).toBeNull();
  });
});
