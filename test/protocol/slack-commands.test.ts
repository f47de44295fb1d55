import { afterEach, beforeEach, expect, it } from "vitest";
import { getActivation, listForPrincipal } from "../../src/db/repos/activations.js";
import { describeChat } from "../support/databases.js";
import { type SlackDriver, slackScenarioWorld } from "../support/slack/slack-driver.js";
import { type SlackWorld, slackIdOf, startSlackWorld } from "../support/slack/slack-world.js";

describeChat("Slack: /elevate subcommands", (driver) => {
  let w: SlackWorld;
  let d: SlackDriver;
  beforeEach(async () => {
    w = await startSlackWorld(driver);
    d = slackScenarioWorld(w).driver as SlackDriver;
  });
  afterEach(async () => {
    expect(w.api.violations).toEqual([]);
    await w.dispose();
  });

  /** Runs a subcommand and returns what the user was shown (the ack itself, or the response_url post). */
  async function run(user: string, text: string): Promise<{ text: string; buttons: string[] }> {
    const before = w.api.ephemeralsFor(slackIdOf(user)).length;
    const sent = await w.slack.command(slackIdOf(user), text);
    expect(sent.status).toBe(200);
    if (sent.json?.blocks) return d.snapshot(sent.json as { blocks: Record<string, unknown>[] });
    await w.settle();
    const replies = w.api.ephemeralsFor(slackIdOf(user)).slice(before);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.via).toBe("response_url");
    return d.snapshot(replies[0]!);
  }

  async function activeDbAdmin() {
    expect(
      await d.request("alice", { roles: ["db-admin"], duration: "2h", justification: "Fix", ticket: "INC-123456" }),
    ).toEqual({});
    await d.approve("bob");
    await w.runJobs();
  }

  it("help answers in the ack itself, and anything unknown with the help text", async () => {
    const help = await run("alice", "help");
    for (const sub of ["status", "end [role]", "extend [role]", "pending", "roles", "mfa setup"])
      expect(help.text).toContain(`/elevate ${sub}`);
    expect(w.api.callsOf("response_url")).toHaveLength(0);
    const unknown = await run("alice", "sudo <!channel>");
    expect(unknown.text).toContain("I don't know \"sudo");
    expect(unknown.text).toContain("Here is what I can do:");
  });

  it("status shows my active roles with time left and my pending requests", async () => {
    expect((await run("alice", "status")).text).toContain("You hold no privileged role and have no pending request.");
    await activeDbAdmin();
    await d.request("alice", { roles: ["global-admin"], duration: "1h", justification: "Keys" });
    const status = await run("alice", "status");
    expect(status.text).toContain("Database Administrator at /mg/prod — active until 11:00 UTC (2h left)");
    expect(status.text).toContain("Global Administrator at / — waiting for MFA");
    expect(status.buttons).toEqual(["End now", "Extend", "Cancel request"]);
  });

  it("roles lists what I may activate with each role's rules", async () => {
    const roles = await run("alice", "roles");
    expect(roles.text).toContain("You are eligible for 5 roles");
    expect(roles.text).toContain("Database Administrator at /mg/prod");
    expect(roles.text).toContain("up to 4h · approval · ticket like INC-123456 · justification");
    expect(roles.text).toContain("Global Administrator at /\nup to 2h · MFA (passkey) · 2 approvals · justification");
    expect(roles.text).toContain("Billing Reader at /");
    expect(roles.text).toContain("cannot be ended early");
    expect((await run("dave", "roles")).text).toContain("ask a PIM administrator");
  });

  it("pending lists what waits for my decision, and its buttons decide", async () => {
    expect((await run("bob", "pending")).text).toContain("Nothing is waiting for your decision.");
    await d.request("alice", { roles: ["db-admin"], duration: "1h", justification: "Fix it", ticket: "INC-123456" });
    const pending = await run("bob", "pending");
    expect(pending.text).toContain("Alice Adams asks for Database Administrator at /mg/prod for 1h · INC-123456");
    expect(pending.buttons).toEqual(["Approve", "Deny"]);
    const reply = w.api.ephemeralsFor("U0BOB").at(-1)!;
    await w.slack.clickInMessage(
      "U0BOB",
      { channel: "D0BOB", ts: "1.0", text: "", blocks: reply.blocks, versions: [] },
      "pim.approve",
    );
    await w.runJobs();
    expect(await slackScenarioWorld(w).held("alice", "db-admin")).toBe(true);
  });

  it("end [role] ends my active role now and it is revoked", async () => {
    await activeDbAdmin();
    expect((await run("alice", "end reader")).text).toContain('You have no active role called "reader".');
    expect((await run("alice", "end db-admin")).text).toContain("Ending Database Administrator now");
    await w.runJobs();
    expect(await slackScenarioWorld(w).held("alice", "db-admin")).toBe(false);
  });

  it("extend [role] opens the extension form, and the extension goes through the role's policy again", async () => {
    await activeDbAdmin();
    const before = new Set(w.api.views.keys());
    expect((await w.slack.command("U0ALICE", "extend")).status).toBe(200);
    await w.settle();
    const modal = [...w.api.views.values()].find((v) => !before.has(v.id) && v.user === "U0ALICE")!;
    expect(modal.view.callback_id).toBe("pim.form.extend");
    const errors = await d.submitted(
      await w.slack.submit("U0ALICE", modal, {
        duration: { option: String(3 * 3_600_000) },
        justification: "Still fixing",
      }),
    );
    expect(errors).toEqual({});
    const [pending] = await listForPrincipal(w.deps.db, await w.engine.user("alice"), ["pending_approval"]);
    expect(pending!.extendsId).not.toBeNull();
    expect((await getActivation(w.deps.db, pending!.extendsId!))!.status).toBe("active");
    expect((await d.card("bob", "approver"))!.text).toContain("Still fixing");
  });

  it("mfa setup answers with the enrollment link when the MFA module offers one", async () => {
    const setup = await run("alice", "mfa setup");
    expect(setup.buttons).toEqual(["Set up MFA"]);
    expect(setup.text).toContain("Open this page to enroll");
  });

  it("mfa setup past the hourly number of links says why there is no link, where it was typed", async () => {
    const setups = 20; // MFA_LINKS_PER_HOUR, by default
    for (let i = 0; i < setups; i++) expect((await run("alice", "mfa setup")).buttons).toEqual(["Set up MFA"]);
    const refused = await run("alice", "mfa setup");
    expect(refused.buttons).toEqual([]);
    expect(refused.text).toContain("No set-up link can be given to you now");
  });

  it("a user listed without a Slack id is known by verified email, asked of Slack once and then cached", async () => {
    expect((await run("grace", "roles")).text).toContain("Reader at /");
    expect((await run("grace", "status")).text).toContain("You hold no privileged role");
    expect(w.api.callsOf("users.info").map((c) => c.args.user)).toEqual(["U0GRACE"]);
  });
});
