/**
 * The Teams demo behind `npm run playground`: pim-bot (embedded PGlite, the example policy,
 * Teams authentication off, on 127.0.0.1) and one Microsoft 365 Agents Playground per person,
 * each pointed at the bot: Sam Rivera asks for access in one, Dana Park approves in the other.
 *
 * The example policy is used with two changes the playground cannot do without: step-up MFA is
 * off (the playground has no authenticator or passkey) and every role uses the log connector
 * (nothing real to grant on). Everything else — approvers, limits, cards — is the example's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { start } from "../src/main.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TENANT = "7c1f3a52-4b6e-4d2a-9f80-1e2d3c4b5a69";
/** A Teams channel id the playground's team shows, so alerts and notices land somewhere visible. */
const ALERTS_CHANNEL = "19:pim-alerts@thread.tacv2";

interface TenantUser {
  key: string;
  name: string;
  email: string;
  teamsId: string;
}

export interface PlaygroundPerson extends TenantUser {
  port: number;
  role: string;
}

/** People of the example policy (pim.example.yaml); the playground wants exactly five besides the current user. */
const TENANT_USERS: TenantUser[] = [
  { key: "sam", name: "Sam Rivera", email: "sam.rivera@example.com", teamsId: "8c1d4e2f-6a3b-4c9d-8e7f-1a2b3c4d5e6f" },
  { key: "dana", name: "Dana Park", email: "dana.park@example.com", teamsId: "5b3e1c7a-2d4f-4e8b-9a61-0c2f7d9e3b14" },
  {
    key: "alice",
    name: "Alice Adams",
    email: "alice.adams@example.com",
    teamsId: "2f4a6c1e-9b8d-4a7f-b3e2-5d6c7a8b9c0d",
  },
  { key: "raj", name: "Raj Patel", email: "raj.patel@example.com", teamsId: "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4" },
  { key: "bob", name: "Bob Brown", email: "bob.brown@example.com", teamsId: "4d3c2b1a-0f9e-48d7-b6a5-f4e3d2c1b0a9" },
  // On Slack only in the example; the playground just needs someone in the fifth seat.
  {
    key: "carol",
    name: "Carol Chen",
    email: "carol.chen@example.com",
    teamsId: "d4c3b2a1-6e5f-4a7b-8c9d-0e1f2a3b4c5d",
  },
];

const seat = (key: string) => TENANT_USERS.find((u) => u.key === key)!;

/** Who gets a playground of their own: Sam asks for Global Administrator, Dana (security team) approves. */
export function demoPeople(basePort: number): PlaygroundPerson[] {
  return [
    { ...seat("sam"), port: basePort, role: "requester" },
    { ...seat("dana"), port: basePort + 1, role: "approver" },
  ];
}

/** The example policy, made to work without MFA hardware or real targets. */
export async function playgroundPolicy(): Promise<string> {
  const doc = parseDocument(await readFile(join(ROOT, "pim.example.yaml"), "utf8"));
  doc.setIn(["defaults", "activation", "requireMfa"], false);
  const roles = doc.get("roles") as { items: unknown[] };
  roles.items.forEach((_, i) => {
    doc.setIn(["roles", i, "connector"], doc.createNode({ type: "log" }));
    if (doc.hasIn(["roles", i, "policy", "activation", "approverStepUp"]))
      doc.setIn(["roles", i, "policy", "activation", "approverStepUp"], false);
    if (doc.hasIn(["roles", i, "policy", "activation", "approvalChannel"]))
      doc.setIn(["roles", i, "policy", "activation", "approvalChannel"], doc.createNode({ teams: ALERTS_CHANNEL }));
  });
  doc.setIn(["channels"], doc.createNode({ teams: { alerts: ALERTS_CHANNEL, approvals: ALERTS_CHANNEL } }));
  return doc.toString();
}

/** The personal chat each playground shows for its current user (set in its configuration). */
export const personalChatOf = (person: TenantUser) => `a:playground-${person.key}`;

/** The playground's own configuration: who the current user is, and a team whose channel takes alerts. */
export function playgroundConfig(person: TenantUser): string {
  const others = TENANT_USERS.filter((p) => p.key !== person.key);
  const user = (p: TenantUser, indent: string) =>
    [
      `id: 29:${p.key}`,
      `name: ${p.name}`,
      `userPrincipleName: ${p.email}`,
      `aadObjectId: ${p.teamsId}`,
      `givenName: ${p.name.split(" ")[0]}`,
      `surname: ${p.name.split(" ")[1]}`,
      `email: ${p.email}`,
    ].join(`\n${indent}`);
  return `version: "0.1.1"
tenantId: ${TENANT}
bot:
  id: 28:pim-bot-playground
  name: PIM
currentUser:
  ${user(person, "  ")}
users:
${others.map((p) => `  - ${user(p, "    ")}`).join("\n")}
personalChat:
  id: ${personalChatOf(person)}
groupChat:
  id: 19:playground-group@thread.v2
  name: Group Chat
team:
  id: 19:playground-team@thread.tacv2
  name: Security
  aadGroupId: 3f8e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8
  channels:
    - id: ${ALERTS_CHANNEL}
      name: pim-alerts
`;
}

/** The playground CLI from node_modules, run with Node itself (no global install, no download). */
export function playgroundCli(): string {
  return createRequire(import.meta.url).resolve("@microsoft/m365agentsplayground/cli.js");
}

export function startPlayground(person: PlaygroundPerson, configPath: string, botEndpoint: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      playgroundCli(),
      "--app-endpoint",
      botEndpoint,
      "--channel-id",
      "msteams",
      "--port",
      String(person.port),
      "--disable-telemetry",
    ],
    {
      env: { ...process.env, M365_AGENTS_PLAYGROUND_CONFIG_PATH: configPath, BROWSER: "none" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
}

/** Resolves once the playground answers HTTP on its port, or fails with what it printed. */
export async function waitForPlayground(child: ChildProcess, port: number, timeoutMs = 30_000): Promise<void> {
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the playground exited (${child.exitCode}):\n${output}`);
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the playground did not answer on port ${port} within ${timeoutMs} ms:\n${output}`);
}

/**
 * Installs the app for a person, as a Teams admin would: the playground sends the install
 * activities, so the bot stores the chat and can post into it before the page was ever opened.
 */
export async function installFor(person: PlaygroundPerson): Promise<void> {
  const url = `http://127.0.0.1:${person.port}/_debug/conversation/${encodeURIComponent(personalChatOf(person))}/installation`;
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  if (!res.ok) throw new Error(`installing the app in ${person.name}'s playground answered ${res.status}`);
}

export interface Demo {
  botEndpoint: string;
  people: PlaygroundPerson[];
  dir: string;
  stop(): Promise<void>;
}

/** Starts the bot and a playground per person; `stop` ends them all and removes the demo data. */
export async function startDemo(opts: { botPort: number; basePort: number; logLevel?: string }): Promise<Demo> {
  const dir = await mkdtemp(join(tmpdir(), "pim-playground-"));
  const policyPath = join(dir, "pim.yaml");
  await writeFile(policyPath, await playgroundPolicy());
  const bot = await start({
    ...process.env,
    PORT: String(opts.botPort),
    HOST: "127.0.0.1",
    PUBLIC_URL: `http://localhost:${opts.botPort}`,
    PGLITE_DIR: join(dir, "data"),
    PIM_CONFIG: policyPath,
    TEAMS_AUTH: "off",
    MICROSOFT_APP_ID: "",
    SLACK_BOT_TOKEN: "",
    SLACK_SIGNING_SECRET: "",
    SLACK_APP_TOKEN: "",
    DATABASE_URL: "",
    LOG_LEVEL: opts.logLevel ?? "warn",
  });
  const botEndpoint = `http://127.0.0.1:${bot.port}/api/messages`;
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) {
      if (child.exitCode !== null || !child.pid) continue;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(child.pid);
      await exited;
    }
    await bot.stop();
    await rm(dir, { recursive: true, force: true });
  };
  const people = demoPeople(opts.basePort);
  try {
    for (const person of people) {
      const configPath = join(dir, `${person.key}.yml`);
      await writeFile(configPath, playgroundConfig(person));
      const child = startPlayground(person, configPath, botEndpoint);
      children.push(child);
      await waitForPlayground(child, person.port);
      await installFor(person);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { botEndpoint, people, dir, stop };
}
