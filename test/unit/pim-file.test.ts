import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  formatPimFileErrors,
  loadPimFile,
  type PimConfig,
  type PimFileError,
  parsePimFile,
} from "../../src/config/pim-file.js";
import { DAY, HOUR } from "../../src/domain/duration.js";
import { BUILT_IN_POLICY } from "../../src/domain/policy.js";

const EXAMPLE = fileURLToPath(new URL("../../pim.example.yaml", import.meta.url));

type Fields = Record<string, unknown>;
type RoleFields = Fields & { policy: { activation: Fields; assignment: Fields } };

/** pim.yaml as data; any section may be set to anything, to break it. */
interface TestFile {
  [section: string]: unknown;
  users: Fields[];
  groups: Fields[];
  scopes: Fields[];
  defaults: Record<string, Fields>;
  roles: RoleFields[];
  assignments: Fields[];
  breakGlass: unknown[];
}

/** A small valid file; each test breaks one thing in it. */
function validFile(): TestFile {
  return {
    version: 1,
    users: [
      { key: "alice", name: "Alice Adams", email: "alice@example.com", slackId: "U01ALICE", admin: true },
      { key: "bob", name: "Bob Brown", email: "bob@example.com", manager: "alice" },
      { key: "carol", name: "Carol Chen", email: "carol@example.com", manager: "alice" },
      { key: "glass", name: "Break glass", email: "glass@example.com" },
    ],
    groups: [{ key: "dba", name: "DBAs", members: ["bob", "carol"] }],
    scopes: [{ path: "/mg/prod", name: "Production" }],
    defaults: {},
    roles: [
      { key: "db-admin", name: "DB admin", scopes: ["/mg/prod"], policy: { activation: {}, assignment: {} } },
      { key: "global-admin", name: "Global Administrator", critical: true, policy: { activation: {}, assignment: {} } },
    ],
    assignments: [{ principal: "dba", role: "db-admin", scope: "/mg/prod", kind: "eligible" }],
    breakGlass: ["glass"],
  };
}

type File = TestFile;

function parse(file: File | Record<string, unknown>) {
  return parsePimFile(stringify(file), "pim.yaml");
}

function config(file: File | Record<string, unknown>): PimConfig {
  const result = parse(file);
  if (!result.ok) throw new Error(formatPimFileErrors(result.error));
  return result.value;
}

function errors(file: File | Record<string, unknown>): PimFileError[] {
  const result = parse(file);
  if (result.ok) throw new Error("expected the file to be refused");
  return result.error;
}

function errorsOf(text: string): PimFileError[] {
  const result = parsePimFile(text, "pim.yaml");
  if (result.ok) throw new Error("expected the file to be refused");
  return result.error;
}

/** The file is refused with (at least) this error. */
function expectRefused(file: File | Fields, path: string, message: string | RegExp) {
  const found = errors(file);
  const match = found.find((e) => e.path === path);
  expect(match, `no error at ${path}; got:\n${formatPimFileErrors(found)}`).toBeDefined();
  if (typeof message === "string") expect(match?.message).toBe(message);
  else expect(match?.message).toMatch(message);
}

const activation = (f: File, i = 0) => f.roles[i]!.policy.activation;
const assignmentSettings = (f: File, i = 0) => f.roles[i]!.policy.assignment;

describe("the shipped example", () => {
  it("is valid and makes a complete demo", async () => {
    const result = await loadPimFile(EXAMPLE);
    if (!result.ok) throw new Error(formatPimFileErrors(result.error));
    const pim = result.value;

    expect(pim.scopes.map((s) => s.path)).toEqual(["/", "/mg/prod", "/mg/prod/db", "/mg/dev"]);
    expect(pim.users.filter((u) => u.admin)).toHaveLength(2);
    expect(pim.breakGlass).toEqual(["breakglass1"]);

    const role = (key: string) => pim.roles.find((r) => r.key === key)!;
    expect(role("global-admin").resolvedPolicy.activation).toMatchObject({
      maxDurationMs: 2 * HOUR,
      mfaMethods: ["passkey"],
      requireApproval: true,
      approvers: ["security"],
      approvalsNeeded: 1,
    });
    // The example runs as it is: every role uses the embedded log connector until a target is wired.
    expect(new Set(pim.roles.map((r) => r.connector.type))).toEqual(new Set(["log"]));
    expect(role("db-admin").resolvedPolicy.activation).toMatchObject({
      requireTicket: true,
      ticketPattern: "^INC-\\d{6}$",
      approvers: ["dba"],
      approvalsNeeded: 2,
      approvalRouting: "channel",
    });
    expect(role("read-only-prod").resolvedPolicy.activation.requireApproval).toBe(false);

    const kinds = pim.assignments.map((a) => `${a.kind}/${a.end === null ? "permanent" : "time-bound"}`);
    expect(new Set(kinds)).toEqual(new Set(["eligible/permanent", "eligible/time-bound", "active/time-bound"]));
    expect(pim.assignments.some((a) => pim.groups.some((g) => g.key === a.principal))).toBe(true);
    // PIM for Groups: a privileged group brings its membership and ownership as roles.
    expect(role("group:incident-responders:member").group).toEqual({ key: "incident-responders", access: "member" });
    expect(pim.assignments.some((a) => a.role === "group:incident-responders:owner")).toBe(true);
  });
});

describe("a valid file", () => {
  it("comes out normalized, in the domain's units", () => {
    const file = validFile();
    file.defaults = { activation: { maxDuration: "1h30m" }, assignment: { maxEligibleDuration: "90d" } };
    activation(file).approvalTimeout = "2h";
    const pim = config(file);

    expect(pim.scopes[0]).toEqual({ path: "/", name: "Root" });
    expect(pim.users[1]).toEqual({
      key: "bob",
      name: "Bob Brown",
      email: "bob@example.com",
      slackId: null,
      teamsId: null,
      manager: "alice",
      admin: false,
    });
    expect(pim.groups[0]).toEqual({
      key: "dba",
      name: "DBAs",
      members: ["bob", "carol"],
      owners: [],
      privileged: false,
      description: "",
      connector: { type: "log" },
      policy: {},
      ownerPolicy: {},
    });
    expect(pim.defaults).toEqual({
      activation: { maxDurationMs: 90 * 60_000 },
      assignment: { maxEligibleDurationMs: 90 * DAY },
    });

    const role = pim.roles[0]!;
    expect(role).toMatchObject({ description: "", connector: { type: "log" }, notify: false, critical: false });
    expect(role.policy).toEqual({ activation: { approvalTimeoutMs: 2 * HOUR }, assignment: {} });
    expect(role.resolvedPolicy.activation.maxDurationMs).toBe(90 * 60_000);
    expect(role.resolvedPolicy.activation.approvalTimeoutMs).toBe(2 * HOUR);
    expect(role.resolvedPolicy.notifications).toEqual(BUILT_IN_POLICY.notifications);
    expect(pim.roles[1]!.scopes).toEqual(["/"]);

    expect(pim.assignments[0]).toEqual({
      principal: "dba",
      role: "db-admin",
      scope: "/mg/prod",
      kind: "eligible",
      start: null,
      end: null,
      justification: null,
    });
    expect(pim.channels).toEqual({
      slack: { alerts: null, approvals: null },
      teams: { alerts: null, approvals: null },
    });
    expect(pim.alerts).toEqual({
      tooManyGlobalAdmins: { count: 5, percent: 30 },
      staleEligibleDays: 90,
      frequentActivations: { count: 5, windowMs: DAY },
      mfaFailures: { count: 5, windowMs: HOUR },
    });
  });

  it("needs nothing but the version", () => {
    const pim = config({ version: 1 });
    expect(pim.roles).toEqual([]);
    expect(pim.scopes).toEqual([{ path: "/", name: "Root" }]);
  });

  it("accepts sections left empty", () => {
    const pim = parsePimFile("version: 1\ngroups:\nalerts:\n");
    expect(pim.ok).toBe(true);
  });

  it("routes approvals to channels.*.approvals when a role names no channel of its own", () => {
    const file = validFile();
    file.channels = { slack: { approvals: "C0APPROVE" } };
    Object.assign(activation(file), { requireApproval: true, approvers: ["dba"], approvalRouting: "channel" });
    expect(config(file).roles[0]!.resolvedPolicy.activation.approvalChannel).toEqual({ slack: "C0APPROVE" });
  });
});

describe("the file as a whole", () => {
  it("is refused on a YAML syntax error, with line and column", () => {
    const [error] = errorsOf("version: 1\nusers:\n  - key: alice\n   name: [Alice\n");
    expect(error?.path).toBe("(file)");
    expect(error?.message).toMatch(/^line \d+, column \d+ of pim\.yaml: /);
  });

  it("is refused when a key is written twice in one mapping", () => {
    const [error] = errorsOf("version: 1\nversion: 1\n");
    expect(error).toMatchObject({ path: "(file)", message: "line 2, column 1 of pim.yaml: Map keys must be unique" });
  });

  it("is refused when empty", () => {
    expect(errorsOf("# nothing yet\n")).toEqual([
      { path: "(file)", message: "pim.yaml is empty; a policy file starts with version: 1" },
    ]);
  });

  it("is refused when it is not a mapping", () => {
    expect(errorsOf("- version: 1\n")[0]).toMatchObject({
      path: "(file)",
      message: "must be a mapping of settings, not a list",
    });
  });

  it("must say version 1", () => {
    expect(errors({ users: [] })[0]).toMatchObject({
      path: "version",
      message: "is required: start the file with version: 1",
    });
    expect(errors({ version: 2 })[0]).toMatchObject({ path: "version", message: "must be 1" });
  });

  it("is refused whole for one bad setting, and reports every error", () => {
    const file = validFile();
    activation(file).maxDuration = "25h";
    activation(file, 1).approvalRouting = "email";
    const result = parse(file);
    expect(result.ok).toBe(false);
    expect(result).not.toHaveProperty("value");
    expect(formatPimFileErrors(errors(file)).split("\n")).toEqual([
      expect.stringMatching(/^roles\[0\]\.policy\.activation\.maxDuration: must be at most 24h \(line \d+\)$/),
      expect.stringMatching(
        /^roles\[1\]\.policy\.activation\.approvalRouting: must be one of: dm, channel \(line \d+\)$/,
      ),
    ]);
  });

  it("refuses a ticket pattern that can backtrack catastrophically, naming it", () => {
    const file = validFile();
    activation(file).ticketPattern = "^INC-(\\d+)+$";
    activation(file).ticketExample = null;
    expect(formatPimFileErrors(errors(file))).toMatch(
      /^roles\[0\]\.policy\.activation\.ticketPattern: can take exponential time on some inputs \(catastrophic backtracking/,
    );
  });

  it("reports a missing file as an error, not an exception", async () => {
    const result = await loadPimFile("/nonexistent/pim.yaml");
    expect(result).toEqual({
      ok: false,
      error: [{ path: "(file)", message: "cannot read /nonexistent/pim.yaml: no such file" }],
    });
  });

  it("points at the line of the setting", () => {
    const text = [
      "version: 1",
      "roles:",
      "  - key: r",
      "    name: R",
      "    policy:",
      "      activation:",
      "        maxDuraton: 8h",
      "        approvalTimeout: 45d",
    ].join("\n");
    expect(errorsOf(text)).toEqual([
      {
        path: "roles[0].policy.activation",
        message: 'unknown setting "maxDuraton" (did you mean "maxDuration"?)',
        line: 7,
      },
      { path: "roles[0].policy.activation.approvalTimeout", message: "must be at most 30d", line: 8 },
    ]);
  });
});

describe("settings with the wrong shape", () => {
  it("names unknown settings", () => {
    const file = validFile();
    file.rols = [];
    expectRefused(file, "(file)", 'unknown setting "rols" (did you mean "roles"?)');
  });

  it("bounds the activation duration", () => {
    const file = validFile();
    activation(file).maxDuration = "25h";
    expectRefused(file, "roles[0].policy.activation.maxDuration", "must be at most 24h");
    activation(file).maxDuration = "1m";
    expectRefused(file, "roles[0].policy.activation.maxDuration", "must be at least 5m");
    activation(file).maxDuration = "8 hours";
    expectRefused(file, "roles[0].policy.activation.maxDuration", /"8 hours" is not a duration/);
    activation(file).maxDuration = 8;
    expectRefused(file, "roles[0].policy.activation.maxDuration", "must be a duration such as 30m, 8h or 90d");
  });

  it("bounds the approval timeout", () => {
    const file = validFile();
    file.defaults = { activation: { approvalTimeout: "31d" } };
    expectRefused(file, "defaults.activation.approvalTimeout", "must be at most 30d");
  });

  it("lists the allowed values of a choice", () => {
    const file = validFile();
    activation(file).approvalRouting = "email";
    expectRefused(file, "roles[0].policy.activation.approvalRouting", "must be one of: dm, channel");
    activation(file).approvalRouting = "dm";
    activation(file).mfaMethods = ["sms"];
    expectRefused(file, "roles[0].policy.activation.mfaMethods[0]", "must be one of: totp, passkey, oidc");
  });

  it("lists the connector types", () => {
    const file = validFile();
    file.roles[1]!.connector = { type: "ldap" };
    expectRefused(file, "roles[1].connector.type", "must be one of: log, postgres, webhook");
    file.roles[1]!.connector = { type: "postgres", urlEnv: "postgres://u:p@db/prod", role: "db admin" };
    expectRefused(file, "roles[1].connector.urlEnv", /^must be the name of an environment variable/);
    expectRefused(file, "roles[1].connector.role", /^must be a PostgreSQL role name/);
    file.roles[1]!.connector = { type: "webhook", url: "http://hooks.example.com/pim", secretEnv: "HOOK_SECRET" };
    expectRefused(file, "roles[1].connector.url", "must use https:// (http:// is allowed only for localhost)");
  });

  it("gives the webhook connector a default timeout", () => {
    const file = validFile();
    file.roles[1]!.connector = { type: "webhook", url: "https://hooks.example.com/pim", secretEnv: "HOOK_SECRET" };
    expect(config(file).roles[1]!.connector).toEqual({
      type: "webhook",
      url: "https://hooks.example.com/pim",
      secretEnv: "HOOK_SECRET",
      timeoutMs: 5_000,
    });
  });

  it("wants approvalsNeeded to be a whole number of at least 1", () => {
    const file = validFile();
    activation(file).approvalsNeeded = 0;
    expectRefused(file, "roles[0].policy.activation.approvalsNeeded", "must be at least 1");
    activation(file).approvalsNeeded = 1.5;
    expectRefused(file, "roles[0].policy.activation.approvalsNeeded", "must be a whole number");
  });

  it("compiles the ticket pattern", () => {
    const file = validFile();
    Object.assign(activation(file), { requireTicket: true, ticketPattern: "^INC-(\\d{6}$" });
    expectRefused(file, "roles[0].policy.activation.ticketPattern", /^is not a valid regular expression/);
  });

  it("checks a user's fields", () => {
    const file = validFile();
    file.users[0] = { key: "Alice", name: "", email: "alice(at)example.com", slackId: "alice", teamsId: "42" };
    expectRefused(file, "users[0].key", /^must be lowercase letters, digits/);
    expectRefused(file, "users[0].name", "must not be empty");
    expectRefused(file, "users[0].email", "must be an email address");
    expectRefused(file, "users[0].slackId", /^must be a Slack member id/);
    expectRefused(file, "users[0].teamsId", /^must be the user's Microsoft Entra object id/);
    file.users[1] = { key: "bob", name: "Bob" };
    expectRefused(file, "users[1].email", "is required");
  });

  it("says what kind of value it wanted", () => {
    const file: Fields = validFile();
    file.users = { alice: {} };
    expectRefused(file, "users", "must be a list, not a mapping");
    const other = validFile();
    other.users[0]!.admin = "yes";
    expectRefused(other, "users[0].admin", 'must be true or false, not "yes"');
  });

  it("refuses repeated entries in a list", () => {
    const file = validFile();
    file.groups[0]!.members = ["bob", "carol", "bob"];
    expectRefused(file, "groups[0].members[2]", '"bob" is listed twice');
  });

  it("wants assignment dates with a time zone, and the end after the start", () => {
    const file = validFile();
    Object.assign(file.assignments[0]!, { start: "2026-06-01", end: "2026-01-01T00:00:00Z" });
    expectRefused(file, "assignments[0].start", /^must be a date and time with a time zone/);
    Object.assign(file.assignments[0]!, { start: "2026-06-01T00:00:00+02:00" });
    expectRefused(file, "assignments[0].end", "must be after start");
  });

  it("wants channel ids, not names", () => {
    const file = validFile();
    file.channels = { slack: { alerts: "#security" }, teams: { alerts: "Security" } };
    expectRefused(file, "channels.slack.alerts", /^must be a Slack channel id/);
    expectRefused(file, "channels.teams.alerts", /^must be a Teams channel id/);
  });
});

describe("references between sections", () => {
  it("refuses names that refer to nothing", () => {
    const file = validFile();
    file.assignments.push({ principal: "dbaa", role: "db-admn", kind: "eligible" });
    expectRefused(file, "assignments[1].principal", 'unknown user or group "dbaa" (did you mean "dba"?)');
    expectRefused(file, "assignments[1].role", 'unknown role "db-admn" (did you mean "db-admin"?)');
  });

  it("refuses undeclared scopes", () => {
    const file = validFile();
    file.roles[1]!.scopes = ["/mg/dev"];
    file.assignments[0]!.scope = "/mg/prod/db";
    expectRefused(file, "roles[1].scopes[0]", 'unknown scope "/mg/dev"; declare it under scopes');
    expectRefused(file, "assignments[0].scope", /^unknown scope "\/mg\/prod\/db"/);
  });

  it("refuses an assignment outside the role's scopes", () => {
    const file = validFile();
    file.assignments[0]!.scope = "/";
    expectRefused(file, "assignments[0].scope", 'is outside role "db-admin", which applies at /mg/prod');
  });

  it("accepts an assignment below the role's scope", () => {
    const file = validFile();
    file.scopes.push({ path: "/mg/prod/db", name: "Databases" });
    file.assignments[0]!.scope = "/mg/prod/db";
    expect(parse(file).ok).toBe(true);
  });

  it("refuses unknown approvers and notification recipients", () => {
    const file = validFile();
    file.defaults = {
      activation: { approvers: ["security"] },
      notifications: { activation: ["user:dba", "group:dba"] },
    };
    expectRefused(file, "defaults.activation.approvers[0]", 'unknown user or group "security"');
    expectRefused(file, "defaults.notifications.activation[0]", 'unknown user "dba"');
  });

  it("refuses duplicate keys, names, emails and chat ids", () => {
    const file = validFile();
    file.users.push({ key: "dba", name: "Dee", email: "ALICE@example.com", slackId: "U01ALICE" });
    file.roles.push({ key: "db-admin", name: "Global Administrator", policy: { activation: {}, assignment: {} } });
    expectRefused(file, "groups[0].key", '"dba" is already used by users[4]');
    expectRefused(file, "users[4].email", '"ALICE@example.com" is already used by users[0]');
    expectRefused(file, "users[4].slackId", '"U01ALICE" is already used by users[0]');
    expectRefused(file, "roles[2].key", '"db-admin" is already used by roles[0]');
    expectRefused(file, "roles[2].name", '"Global Administrator" is already used by roles[1]');
  });

  it("refuses a manager who is not a user, and loops of managers", () => {
    const file = validFile();
    file.users[0]!.manager = "carol";
    file.users[3]!.manager = "dba";
    expectRefused(file, "users[0].manager", "managers form a loop: alice → carol → alice");
    expectRefused(file, "users[3].manager", '"dba" is a group; a manager must be a user');
    file.users[3]!.manager = "glass";
    expectRefused(file, "users[3].manager", "cannot be the user themself");
  });

  it("refuses loops of group membership", () => {
    const file = validFile();
    file.groups.push({ key: "ops", name: "Ops", members: ["dba", "alice"] });
    file.groups[0]!.members = ["bob", "ops"];
    expectRefused(file, "groups[0].members[1]", "groups contain each other in a loop: dba → ops → dba");
  });

  it("refuses break-glass entries that are not users", () => {
    const file = validFile();
    file.breakGlass = ["glass", "dba", "nobody"];
    expectRefused(file, "breakGlass[1]", '"dba" is a group; a break-glass account must be a user');
    expectRefused(file, "breakGlass[2]", 'unknown user "nobody"');
  });
});

describe("role policies once resolved", () => {
  it("refuses approval with nobody to approve", () => {
    const file = validFile();
    activation(file).requireApproval = true;
    expectRefused(file, "roles[0].policy.activation.approvers", "requires approval but names no approvers");
  });

  it("says when the setting at fault is inherited from defaults", () => {
    const file = validFile();
    file.defaults = { activation: { requireApproval: true } };
    const inherited = "requires approval but names no approvers (inherited from defaults)";
    expectRefused(file, "roles[0].policy.activation.approvers", inherited);
    expectRefused(file, "roles[1].policy.activation.approvers", inherited);
  });

  it("accepts approvers named in defaults", () => {
    const file = validFile();
    file.defaults = { activation: { requireApproval: true, approvers: ["alice"] } };
    expect(parse(file).ok).toBe(true);
  });

  it("refuses more approvals than there are approvers, counting group members once", () => {
    const file = validFile();
    Object.assign(activation(file), { requireApproval: true, approvers: ["dba", "bob"], approvalsNeeded: 3 });
    expectRefused(
      file,
      "roles[0].policy.activation.approvalsNeeded",
      "needs 3 approvals but only 2 approvers are named",
    );
  });

  it("wants a channel when approvals are routed to one", () => {
    const file = validFile();
    Object.assign(activation(file), { requireApproval: true, approvers: ["dba"], approvalRouting: "channel" });
    expectRefused(file, "roles[0].policy.activation.approvalChannel", /^is required when approvalRouting is "channel"/);
  });

  it("wants the ticket example to match the ticket pattern", () => {
    const file = validFile();
    Object.assign(activation(file), { requireTicket: true, ticketPattern: "^INC-\\d{6}$", ticketExample: "INC-12" });
    expectRefused(
      file,
      "roles[0].policy.activation.ticketExample",
      '"INC-12" does not match ticketPattern ^INC-\\d{6}$',
    );
  });

  it("wants an MFA method when MFA is required", () => {
    const file = validFile();
    activation(file).mfaMethods = [];
    expectRefused(file, "roles[0].policy.activation.mfaMethods", "requires MFA but allows no MFA method");
  });
});

describe("assignments against their role's policy", () => {
  it("refuses a time-bound eligible assignment longer than the policy allows", () => {
    const file = validFile();
    assignmentSettings(file).maxEligibleDuration = "30d";
    Object.assign(file.assignments[0]!, { start: "2026-01-01T00:00:00Z", end: "2026-03-01T00:00:00Z" });
    expectRefused(
      file,
      "assignments[0].end",
      'makes the assignment last 59d, but role "db-admin" allows eligible assignments of at most 30d',
    );
  });

  it("refuses a permanent assignment the policy does not allow", () => {
    const file = validFile();
    file.assignments.push({ principal: "alice", role: "global-admin", kind: "active", justification: "owner" });
    expectRefused(
      file,
      "assignments[1].end",
      'is required: role "global-admin" does not allow permanent active assignments',
    );
    assignmentSettings(file).allowPermanentEligible = false;
    expectRefused(
      file,
      "assignments[0].end",
      'is required: role "db-admin" does not allow permanent eligible assignments',
    );
  });

  it("wants a justification for an active assignment", () => {
    const file = validFile();
    file.assignments.push({ principal: "bob", role: "global-admin", kind: "active", end: "2026-02-01T00:00:00Z" });
    expectRefused(
      file,
      "assignments[1].justification",
      'is required: role "global-admin" requires a justification for active assignments',
    );
  });

  it("exempts break-glass accounts", () => {
    const file = validFile();
    file.assignments.push({ principal: "glass", role: "global-admin", kind: "active" });
    expect(parse(file).ok).toBe(true);
  });

  it("refuses the same assignment twice", () => {
    const file = validFile();
    file.assignments.push({ ...file.assignments[0] });
    expectRefused(file, "assignments[1]", "repeats assignments[0]");
  });
});

describe("access reviews", () => {
  const review = (fields: Fields = {}): Fields => ({
    name: "monthly-db",
    roles: ["db-admin"],
    recurrence: "monthly",
    start: "2026-12-01T09:00:00Z",
    reviewers: "manager",
    ...fields,
  });
  const withReviews = (...reviews: Fields[]) => ({ ...validFile(), reviews });

  it("are declared in the shipped example, one by manager and one as a self-review", async () => {
    const result = await loadPimFile(EXAMPLE);
    if (!result.ok) throw new Error(formatPimFileErrors(result.error));
    expect(result.value.reviews.map((r) => [r.name, r.recurrence.kind, r.reviewers.mode, r.durationMs / DAY])).toEqual([
      ["monthly-privileged", "monthly", "manager", 14],
      ["developers-self-review", "semiannually", "self", 14],
    ]);
    expect(result.value.alerts).toEqual({
      tooManyGlobalAdmins: { count: 5, percent: 30 },
      staleEligibleDays: 90,
      frequentActivations: { count: 5, windowMs: DAY },
      mfaFailures: { count: 5, windowMs: HOUR },
    });
  });

  it("comes out normalized, with the documented defaults", () => {
    const [r] = config(withReviews(review())).reviews;
    expect(r).toEqual({
      name: "monthly-db",
      title: "Access review: monthly-db",
      roles: ["db-admin"],
      groups: [],
      memberships: [],
      kinds: ["eligible", "active"],
      recurrence: { kind: "monthly" },
      start: new Date("2026-12-01T09:00:00Z"),
      timezone: "UTC",
      durationMs: 7 * DAY,
      reviewers: { mode: "manager", principals: [] },
      fallbackReviewers: [],
      unanswered: "keep",
      inactiveDays: 30,
      autoApply: true,
      remindersMs: [DAY],
    });
  });

  it("takes every setting", () => {
    const [r] = config(
      withReviews(
        review({
          title: "DBA access",
          roles: [],
          groups: ["dba"],
          kinds: ["eligible"],
          recurrence: "0 9 * * 1",
          start: undefined,
          timezone: "Europe/Paris",
          duration: "3d",
          reviewers: ["alice", "dba"],
          fallbackReviewers: ["alice"],
          unanswered: "recommendation",
          inactiveDays: 60,
          autoApply: false,
          reminders: ["1d", "2d"],
        }),
      ),
    ).reviews;
    expect(r).toMatchObject({
      title: "DBA access",
      groups: ["dba"],
      recurrence: { kind: "cron", expression: "0 9 * * 1" },
      start: null,
      timezone: "Europe/Paris",
      durationMs: 3 * DAY,
      reviewers: { mode: "named", principals: ["alice", "dba"] },
      unanswered: "recommendation",
      inactiveDays: 60,
      autoApply: false,
      remindersMs: [2 * DAY, DAY],
    });
  });

  it("knows every recurrence, and says what it wanted", () => {
    for (const recurrence of ["one-time", "weekly", "monthly", "quarterly", "semiannually", "annually"])
      expect(config(withReviews(review({ recurrence, duration: "3d" }))).reviews[0]!.recurrence).toEqual({
        kind: recurrence,
      });
    expectRefused(
      withReviews(review({ recurrence: "fortnightly" })),
      "reviews[0].recurrence",
      'must be one-time, weekly, monthly, quarterly, semiannually, annually or a cron expression such as "0 9 1 * *"',
    );
    expectRefused(
      withReviews(review({ recurrence: "0 25 * * *" })),
      "reviews[0].recurrence",
      /^is not a valid cron expression/,
    );
  });

  it("bounds the duration by the recurrence: a monthly review lasts at most 27 days", () => {
    expectRefused(
      withReviews(review({ duration: "28d" })),
      "reviews[0].duration",
      "must be at most 27d for a monthly review",
    );
    expectRefused(
      withReviews(review({ recurrence: "weekly", duration: "7d" })),
      "reviews[0].duration",
      "must be at most 6d for a weekly review",
    );
    expectRefused(withReviews(review({ duration: "30m" })), "reviews[0].duration", "must be at least 1h");
    expect(config(withReviews(review({ duration: "27d" }))).reviews[0]!.durationMs).toBe(27 * DAY);
  });

  it("wants a start, on a day every month has, in the review's time zone", () => {
    expectRefused(
      withReviews(review({ start: undefined })),
      "reviews[0].start",
      "is required for a monthly review: it is when the first one starts",
    );
    expectRefused(
      withReviews(review({ start: "2026-12-30T23:30:00Z", timezone: "Europe/Paris" })),
      "reviews[0].start",
      "falls on day 31 in Europe/Paris; a monthly review must start on day 1 to 28, so that every period has one",
    );
    expectRefused(withReviews(review({ timezone: "Mars/Olympus" })), "reviews[0].timezone", /IANA time zone/);
  });

  it("checks reviewers, reminders and what to do with silence", () => {
    expectRefused(
      withReviews(review({ reviewers: "managers" })),
      "reviews[0].reviewers",
      "must be self, manager, or a list of user and group keys",
    );
    expectRefused(
      withReviews(review({ reviewers: [] })),
      "reviews[0].reviewers",
      "must list at least one user or group",
    );
    expectRefused(withReviews(review({ reviewers: undefined })), "reviews[0].reviewers", /^is required/);
    expectRefused(
      withReviews(review({ reminders: ["7d"] })),
      "reviews[0].reminders[0]",
      "must be shorter than the review itself (7d)",
    );
    expectRefused(
      withReviews(review({ unanswered: "approve" })),
      "reviews[0].unanswered",
      "must be one of: keep, remove, recommendation",
    );
    expectRefused(withReviews(review({ roles: [] })), "reviews[0].roles", /must name at least one role/);
  });

  it("refuses names that refer to nothing, and repeated review names", () => {
    expectRefused(
      withReviews(review({ roles: ["db-admn"] })),
      "reviews[0].roles[0]",
      'unknown role "db-admn" (did you mean "db-admin"?)',
    );
    expectRefused(
      withReviews(review({ groups: ["bob"] })),
      "reviews[0].groups[0]",
      '"bob" is a user; list groups here (review a user\'s roles under roles)',
    );
    expectRefused(
      withReviews(review({ reviewers: ["zed"] })),
      "reviews[0].reviewers[0]",
      'unknown user or group "zed"',
    );
    expectRefused(
      withReviews(review({ fallbackReviewers: ["nobody"] })),
      "reviews[0].fallbackReviewers[0]",
      /unknown user or group "nobody"/,
    );
    expectRefused(withReviews(review(), review()), "reviews[1].name", '"monthly-db" is already used by reviews[0]');
  });
});

describe("privileged groups (PIM for Groups)", () => {
  function withPrivilegedGroup(): File {
    const file = validFile();
    file.groups.push({
      key: "oncall",
      name: "On call",
      privileged: true,
      owners: ["alice"],
      connector: { type: "postgres", urlEnv: "PROD_DB_URL", role: "oncall" },
      policy: { activation: { maxDuration: "2h", requireApproval: true } },
    });
    file.assignments.push({ principal: "bob", group: "oncall", kind: "eligible" });
    file.assignments.push({ principal: "carol", group: "oncall", access: "owner", kind: "eligible" });
    return file;
  }

  it("bring a membership role and an ownership role, marked as the group's, with the group's policy", () => {
    const pim = config(withPrivilegedGroup());
    const member = pim.roles.find((r) => r.key === "group:oncall:member")!;
    const owner = pim.roles.find((r) => r.key === "group:oncall:owner")!;
    expect(member.group).toEqual({ key: "oncall", access: "member" });
    expect(member.name).toBe("Group membership: On call");
    expect(member.connector).toEqual({ type: "postgres", urlEnv: "PROD_DB_URL", role: "oncall" });
    expect(member.resolvedPolicy.activation.maxDurationMs).toBe(2 * HOUR);
    // Owners approve membership requests, so no approvers need be named.
    expect(member.resolvedPolicy.activation.requireApproval).toBe(true);
    expect(owner.group).toEqual({ key: "oncall", access: "owner" });
    expect(owner.connector).toEqual({ type: "log" });
    expect(pim.roles.find((r) => r.key === "db-admin")!.group).toBeNull();
    expect(pim.assignments.map((a) => a.role)).toEqual(["db-admin", "group:oncall:member", "group:oncall:owner"]);
  });

  it("wants a privileged group's members assigned rather than listed", () => {
    const file = withPrivilegedGroup();
    file.groups[1]!.members = ["bob"];
    expectRefused(file, "groups[1].members", /^a privileged group's members are assigned, not listed/);
  });

  it("reviews the membership and ownership of privileged groups named under memberships", () => {
    const file = withPrivilegedGroup();
    const review = { name: "on-call", recurrence: "one-time", start: "2027-01-04T09:00:00Z", reviewers: ["alice"] };
    file.reviews = [{ ...review, memberships: ["oncall"] }];
    expect(config(file).reviews[0]!.roles).toEqual(["group:oncall:member", "group:oncall:owner"]);
    file.reviews = [{ ...review, memberships: ["dba"] }];
    expectRefused(file, "reviews[0].memberships[0]", /^"dba" is not a privileged group/);
  });

  it("refuses a group's policy or connector unless it is privileged", () => {
    const file = validFile();
    file.groups[0]!.policy = { activation: { maxDuration: "1h" } };
    expectRefused(file, "groups[0].policy", "applies only to a group with privileged: true");
  });

  it("refuses membership of a group that is not privileged, or of an unknown one", () => {
    const file = validFile();
    file.assignments.push({ principal: "bob", group: "dba", kind: "eligible" });
    file.assignments.push({ principal: "bob", group: "dbb", kind: "eligible" });
    expectRefused(file, "assignments[1].group", /^"dba" is not a privileged group/);
    expectRefused(file, "assignments[2].group", 'unknown group "dbb" (did you mean "dba"?)');
  });

  it("wants a role or a group, not both, and access only with a group", () => {
    const file = validFile();
    file.assignments.push({ principal: "bob", kind: "eligible" });
    file.assignments.push({ principal: "bob", role: "db-admin", group: "dba", kind: "eligible" });
    file.assignments.push({ principal: "bob", role: "db-admin", access: "owner", scope: "/mg/prod", kind: "eligible" });
    expectRefused(file, "assignments[1].role", "is required (or group, for a privileged group)");
    expectRefused(file, "assignments[2].group", "names a group, but role is named too: name one");
    expectRefused(file, "assignments[3].access", "applies only with group");
  });

  it("refuses a privileged group as a member of another privileged group's membership", () => {
    const file = withPrivilegedGroup();
    file.groups.push({ key: "sre", name: "SRE", privileged: true });
    file.assignments.push({ principal: "sre", group: "oncall", kind: "eligible" });
    expectRefused(file, "assignments[3].principal", /^"sre" is a privileged group/);
  });

  it("refuses membership that requires approval when nobody, owner or approver, can give it", () => {
    const file = withPrivilegedGroup();
    file.groups[1]!.owners = [];
    file.assignments.pop();
    expectRefused(file, "groups[1].policy.activation.approvers", "requires approval but names no approvers");
  });
});
