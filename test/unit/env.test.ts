import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { envSchema, parseEnv, servedTeamsTenants, teamsTenantsProblem } from "../../src/config/env.js";

describe("settings", () => {
  it("lists every setting in .env.example, and nothing the bot does not read", () => {
    const example = readFileSync(new URL("../../.env.example", import.meta.url), "utf8");
    const listed = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(Object.keys(envSchema.shape).sort());
  });

  it("reads RETENTION as a duration and refuses one it cannot read, naming it", () => {
    const read = parseEnv({ RETENTION: "7d" });
    expect(read.ok && read.env.RETENTION).toBe(7 * 86_400_000);
    const refused = parseEnv({ RETENTION: "a while" });
    expect(refused.ok === false && refused.message).toMatch(/^Bad configuration: RETENTION: /);
  });

  const refusal = (source: Record<string, string>) => {
    const read = parseEnv(source);
    return read.ok ? null : read.message;
  };

  it("refuses TEAMS_AUTH=off unless the server listens on loopback only and the database is embedded", () => {
    expect(refusal({ TEAMS_AUTH: "off" })).toMatch(
      /^Bad configuration: TEAMS_AUTH: off is allowed only with HOST on loopback/,
    );
    expect(refusal({ TEAMS_AUTH: "off", HOST: "0.0.0.0" })).toMatch(/TEAMS_AUTH/);
    expect(refusal({ TEAMS_AUTH: "off", HOST: "127.0.0.1", DATABASE_URL: "postgres://db/pim" })).toMatch(/TEAMS_AUTH/);
    expect(refusal({ TEAMS_AUTH: "off", HOST: "127.0.0.1" })).toBeNull();
    expect(refusal({ TEAMS_AUTH: "off", HOST: "::1" })).toBeNull();
  });

  it("requires the served tenants with a multi-tenant Teams app, and reads them as Entra tenant ids", () => {
    const app = { MICROSOFT_APP_ID: "app", MICROSOFT_APP_PASSWORD: "secret" };
    const bare = parseEnv(app);
    expect(bare.ok && teamsTenantsProblem(bare.env)).toBe(
      "TEAMS_ALLOWED_TENANTS: required with MICROSOFT_APP_TYPE=MultiTenant: the Entra tenant ids to serve",
    );
    expect(refusal({ ...app, TEAMS_ALLOWED_TENANTS: "contoso" })).toMatch(
      /TEAMS_ALLOWED_TENANTS: "contoso" is not an Entra tenant id/,
    );
    const read = parseEnv({ ...app, TEAMS_ALLOWED_TENANTS: "AAAAAAAA-1111-4111-8111-111111111111, " });
    expect(read.ok && servedTeamsTenants(read.env)).toEqual(["aaaaaaaa-1111-4111-8111-111111111111"]);
    const single = parseEnv({
      ...app,
      MICROSOFT_APP_TYPE: "SingleTenant",
      MICROSOFT_APP_TENANT_ID: "bbbbbbbb-2222-4222-8222-222222222222",
    });
    expect(single.ok && servedTeamsTenants(single.env)).toEqual(["bbbbbbbb-2222-4222-8222-222222222222"]);
  });

  it("reads the served Slack workspaces and refuses anything that is not a workspace or organization id", () => {
    const read = parseEnv({ SLACK_ALLOWED_WORKSPACES: "T0123ABC,E0ORG" });
    expect(read.ok && read.env.SLACK_ALLOWED_WORKSPACES).toEqual(["T0123ABC", "E0ORG"]);
    expect(refusal({ SLACK_ALLOWED_WORKSPACES: "acme.slack.com" })).toMatch(
      /^Bad configuration: SLACK_ALLOWED_WORKSPACES: /,
    );
  });

  it("refuses a METRICS_TOKEN shorter than 32 characters, and METRICS_AUTH=off together with a token", () => {
    expect(refusal({ METRICS_TOKEN: "short" })).toMatch(
      /^Bad configuration: METRICS_TOKEN: must be at least 32 characters/,
    );
    expect(refusal({ METRICS_AUTH: "off", METRICS_TOKEN: "x".repeat(32) })).toMatch(/METRICS_AUTH/);
    expect(refusal({ METRICS_TOKEN: "x".repeat(32) })).toBeNull();
  });

  it("refuses bad tamper-evidence settings, naming each", () => {
    const refused = (source: Record<string, string>) => {
      const read = parseEnv(source);
      return read.ok ? "accepted" : read.message;
    };
    const key = "k".repeat(32);
    expect(refused({ MIGRATION_DATABASE_URL: "postgres://owner@127.0.0.1/pim" })).toBe(
      "Bad configuration: MIGRATION_DATABASE_URL: needs DATABASE_URL (the embedded database has no separate owner)",
    );
    expect(refused({ DATABASE_URL: "postgres://bot@h/pim", MIGRATION_DATABASE_URL: "mysql://owner@h/pim" })).toMatch(
      /^Bad configuration: MIGRATION_DATABASE_URL: must be a postgres/,
    );
    expect(refused({ AUDIT_STREAM_URL: "https://siem.example/ingest" })).toBe(
      "Bad configuration: AUDIT_STREAM_URL: needs AUDIT_STREAM_SECRET to sign what it sends",
    );
    expect(refused({ AUDIT_STREAM_URL: "ftp://siem.example", AUDIT_STREAM_SECRET: key })).toMatch(
      /^Bad configuration: AUDIT_STREAM_URL: must be an http/,
    );
    expect(refused({ AUDIT_STREAM_SECRET: "short" })).toMatch(
      /^Bad configuration: AUDIT_STREAM_SECRET: must be at least 32/,
    );
    expect(refused({ AUDIT_CHECKPOINT_KEY: "short" })).toMatch(
      /^Bad configuration: AUDIT_CHECKPOINT_KEY: must be at least 32/,
    );
    expect(refused({ AUDIT_STREAM_SCHEDULE: "every minute" })).toMatch(
      /^Bad configuration: AUDIT_STREAM_SCHEDULE: must be a cron/,
    );
    const read = parseEnv({
      DATABASE_URL: "postgres://bot@h/pim",
      MIGRATION_DATABASE_URL: "postgres://owner@h/pim",
      AUDIT_STREAM_FILE: "/var/log/pim/audit.jsonl",
      AUDIT_CHECKPOINT_KEY: key,
    });
    expect(read.ok && read.env.AUDIT_STREAM_SCHEDULE).toBe("* * * * *");
  });
});
