import { Writable } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { createLogger, type LogFormat } from "../../src/logger.js";

const SECRETS = {
  token: "xoxb-1111-secret-token",
  password: "app-password-2222",
  databaseUrl: "postgres://pim:db-password-3333@db.internal/pim",
  authorization: "Bearer bearer-4444",
};

/** A stream that keeps what is written, seen by the logger as a terminal or not. */
function capture(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    { isTTY },
  );
  return { stream, lines: () => chunks.join("").split("\n").filter(Boolean) };
}

function logEverySecret(format: LogFormat, isTTY: boolean): string[] {
  const out = capture(isTTY);
  const log = createLogger("info", format, out.stream);
  log.info(
    {
      env: { SLACK_BOT_TOKEN: SECRETS.token, DATABASE_URL: SECRETS.databaseUrl },
      req: { headers: { authorization: SECRETS.authorization } },
      teams: { password: SECRETS.password },
      port: 3000,
    },
    "pim-bot is running",
  );
  return out.lines();
}

describe("log lines", () => {
  it("are JSON objects, one per line, when the output is not a terminal", () => {
    const lines = logEverySecret("auto", false);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ msg: "pim-bot is running", level: 30, service: "pim-bot", port: 3000 });
    expect(line.env).toEqual({ SLACK_BOT_TOKEN: "[redacted]", DATABASE_URL: "[redacted]" });
    expect(line.req.headers.authorization).toBe("[redacted]");
    expect(line.teams.password).toBe("[redacted]");
  });

  it("are one short coloured line per event on a terminal", () => {
    const lines = logEverySecret("auto", true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("\u001b["); // coloured
    const plain = stripVTControlCharacters(lines[0]!);
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: pim-bot is running /);
    expect(plain).not.toMatch(/^\{/);
    expect(plain).not.toContain('"service"');
    expect(plain).toContain('"port":3000');
  });

  it("are JSON on a terminal when LOG_FORMAT=json, and pretty without colours elsewhere when LOG_FORMAT=pretty", () => {
    expect(() => JSON.parse(logEverySecret("json", true)[0]!)).not.toThrow();
    const pretty = logEverySecret("pretty", false);
    expect(pretty).toHaveLength(1);
    expect(pretty[0]).not.toContain("\u001b[");
    expect(pretty[0]).toMatch(/INFO: pim-bot is running/);
  });

  it.each([
    ["json", false],
    ["auto", false],
    ["auto", true],
    ["pretty", false],
  ] as const)("never show a secret (%s, terminal: %s)", (format, isTTY) => {
    const text = logEverySecret(format, isTTY).join("\n");
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    expect(text.match(/\[redacted\]/g)).toHaveLength(4);
  });
});
