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
});
