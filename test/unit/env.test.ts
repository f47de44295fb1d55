import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { envSchema, parseEnv } from "../../src/config/env.js";

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
