import { describe, expect, it } from "vitest";
import {
  type CardRoutingInput,
  type CardStep,
  type MessageRef,
  type RoleRouting,
  routeRequestCards,
} from "../../src/domain/card-routing.js";

function role(overrides: Partial<RoleRouting> = {}): RoleRouting {
  return {
    roleId: "rol_db",
    roleKey: "db-admin",
    status: "pending_approval",
    granted: false,
    notify: false,
    approvalRouting: "dm",
    approvalChannel: null,
    approverIds: ["prn_ann", "prn_bob"],
    ...overrides,
  };
}

function input(overrides: Partial<CardRoutingInput> = {}): CardRoutingInput {
  return {
    origin: "slack",
    requesterId: "prn_req",
    roles: [role()],
    channels: {},
    platforms: ["slack", "teams"],
    reachable: { slack: new Set(["prn_ann", "prn_bob"]), teams: new Set(["prn_ann", "prn_bob"]) },
    posted: [],
    ...overrides,
  };
}

function posted(ref: Partial<MessageRef> & Pick<MessageRef, "platform" | "kind">): MessageRef {
  return { subjectId: "req_1", principalId: null, conversationId: "D1", messageId: "m1", ...ref };
}

/** Each step as one readable line: `platform kind → where (new|update|redraw)`. */
function lines(steps: CardStep[]): string[] {
  return steps.map((s) => {
    if (s.type === "redraw") return `${s.platform} ${s.kind} ${s.ref.principalId ?? s.ref.conversationId} redraw`;
    const where = "channel" in s.place ? `#${s.place.channel}` : `dm ${s.place.directTo}`;
    return `${s.platform} ${s.kind} → ${where} (${s.existing ? "update" : "new"})`;
  });
}

describe("who sees which card where", () => {
  it("the requester hears on the platform they asked from; approvers in DMs there first", () => {
    expect(lines(routeRequestCards(input()).steps)).toEqual([
      "slack requester → dm prn_req (new)",
      "slack approver → dm prn_ann (new)",
      "slack approver → dm prn_bob (new)",
    ]);
  });

  it("a request from the API or CLI reaches the requester on every platform", () => {
    const { steps } = routeRequestCards(input({ origin: "api", roles: [role({ status: "active", granted: true })] }));
    expect(lines(steps)).toEqual(["slack requester → dm prn_req (new)", "teams requester → dm prn_req (new)"]);
  });

  it("an approver only the other platform reaches gets their card there", () => {
    const reachable = { slack: new Set(["prn_ann"]), teams: new Set(["prn_ann", "prn_bob"]) };
    expect(lines(routeRequestCards(input({ reachable })).steps)).toContain("teams approver → dm prn_bob (new)");
  });

  it("an approver nobody can reach gets no card, and the others still do", () => {
    const reachable = { slack: new Set(["prn_ann"]), teams: new Set<string>() };
    expect(lines(routeRequestCards(input({ reachable })).steps)).toEqual([
      "slack requester → dm prn_req (new)",
      "slack approver → dm prn_ann (new)",
    ]);
  });

  it("an approver keeps the card they already have, on the platform it is on", () => {
    const existing = posted({ platform: "teams", kind: "approver", principalId: "prn_bob", conversationId: "a:bob" });
    const { steps } = routeRequestCards(input({ posted: [existing] }));
    expect(lines(steps)).toContain("teams approver → dm prn_bob (update)");
    expect(lines(steps)).not.toContain("slack approver → dm prn_bob (new)");
    expect(steps.find((s) => s.type === "place" && s.principalId === "prn_bob")).toMatchObject({ existing });
  });

  it("approvals routed to a channel: one shared card per platform, the role's own channel first, no DMs", () => {
    const routed = role({ approvalRouting: "channel", approvalChannel: { slack: "C_DB" } });
    const channels = { slack: { alerts: null, approvals: "C_ALL" }, teams: { alerts: null, approvals: "19:all" } };
    const { steps, channelMissing } = routeRequestCards(input({ roles: [routed], channels }));
    expect(lines(steps)).toEqual([
      "slack requester → dm prn_req (new)",
      "slack channel → #C_DB (new)",
      "teams channel → #19:all (new)",
    ]);
    expect(channelMissing).toEqual([]);
  });

  it("routed to a channel that no platform has: the approvers get DMs, and the role is named", () => {
    const routed = role({ approvalRouting: "channel" });
    const { steps, channelMissing } = routeRequestCards(input({ roles: [routed] }));
    expect(lines(steps)).toContain("slack approver → dm prn_ann (new)");
    expect(channelMissing).toEqual(["db-admin"]);
  });

  it("once decided, cards already out are redrawn and nobody new is asked", () => {
    const out = [
      posted({ platform: "slack", kind: "requester", principalId: "prn_req" }),
      posted({ platform: "slack", kind: "approver", principalId: "prn_ann", conversationId: "D2" }),
      posted({ platform: "slack", kind: "channel", conversationId: "C_ALL" }),
      posted({ platform: "slack", kind: "alert", conversationId: "C_SEC" }),
    ];
    const decided = role({ status: "active", granted: true });
    expect(lines(routeRequestCards(input({ roles: [decided], posted: out })).steps)).toEqual([
      "slack requester → dm prn_req (update)",
      "slack approver prn_ann redraw",
      "slack channel C_ALL redraw",
    ]);
  });

  it("a granted role marked notify is announced once in each alert channel, then only redrawn", () => {
    const granted = role({ status: "active", granted: true, notify: true });
    const channels = { slack: { alerts: "C_SEC", approvals: null } };
    const first = routeRequestCards(input({ roles: [granted], channels }));
    expect(lines(first.steps)).toEqual(["slack requester → dm prn_req (new)", "slack notice → #C_SEC (new)"]);
    const notice = posted({ platform: "slack", kind: "notice", conversationId: "C_SEC" });
    const again = routeRequestCards(input({ roles: [granted], channels, posted: [notice] }));
    expect(lines(again.steps)).toEqual(["slack requester → dm prn_req (new)", "slack notice C_SEC redraw"]);
  });

  it("a role not marked notify is never announced", () => {
    const granted = role({ status: "active", granted: true });
    const channels = { slack: { alerts: "C_SEC", approvals: null } };
    expect(lines(routeRequestCards(input({ roles: [granted], channels })).steps)).toEqual([
      "slack requester → dm prn_req (new)",
    ]);
  });
});
