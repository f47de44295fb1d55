import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { type Checkpoint, checkpointSignatureValid } from "../../src/audit/checkpoint.js";
import { freePort } from "../support/free-port.js";

const root = new URL("../../", import.meta.url).pathname;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

const KEY = "checkpoint-key-0123456789abcdef0123456789";

it("streams the audit log and its signed checkpoints to a file once the bot runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pim-stream-start-"));
  const file = join(dir, "audit.jsonl");
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      PGLITE_DIR: join(dir, "data"),
      PIM_CONFIG: "/nonexistent/pim.yaml",
      AUDIT_STREAM_FILE: file,
      AUDIT_STREAM_SCHEDULE: "* * * * * *",
      AUDIT_CHECKPOINT_KEY: KEY,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const records = () =>
    existsSync(file)
      ? readFileSync(file, "utf8")
          .trimEnd()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { type: string })
      : [];
  const deadline = Date.now() + 150_000;
  while (!records().some((r) => r.type === "checkpoint")) {
    if (Date.now() > deadline) throw new Error(`no checkpoint in ${file}; output:\n${output}`);
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}; output:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(output).toMatch(/audit stream on/);
  const written = records();
  // The policy applied at start-up is audited; its events come before the first checkpoint.
  const first = written.findIndex((r) => r.type === "checkpoint");
  expect(written.slice(0, first).filter((r) => r.type === "event").length).toBeGreaterThan(0);
  expect(checkpointSignatureValid(KEY, written[first] as Checkpoint)).toBe(true);
}, 180_000);
