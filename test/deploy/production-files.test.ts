import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { envSchema } from "../../src/config/env.js";

/**
 * No container runtime runs here, so the image, compose and systemd definitions are read and
 * held to the rules an operator relies on: non-root, health-checked, built in two stages on
 * Node 20 slim, PostgreSQL healthy before the bot starts, and only settings the bot reads.
 */
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const SETTINGS = new Set(Object.keys(envSchema.shape));

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments and parser directives dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, " ");
  return joined
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [op = "", ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

/** The stages, each with its instructions, and ARG defaults substituted into FROM. */
function stages(all: Instruction[]) {
  const args = new Map<string, string>();
  const out: { from: string; name: string | undefined; body: Instruction[] }[] = [];
  for (const ins of all) {
    if (ins.op === "ARG" && out.length === 0) {
      const [name, value = ""] = ins.args.split("=");
      args.set(name!, value);
    } else if (ins.op === "FROM") {
      const [image = "", as, name] = ins.args.replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? "").split(/\s+/);
      out.push({ from: image, name: as?.toUpperCase() === "AS" ? name : undefined, body: [] });
    } else out.at(-1)?.body.push(ins);
  }
  return out;
}

/** The names an ENV instruction sets, in either of its forms. */
function envNames(args: string): string[] {
  if (!args.includes("=")) return [args.split(/\s+/)[0]!];
  return [...args.matchAll(/(\w+)=("[^"]*"|\S*)/g)].map((m) => m[1]!);
}

describe("Dockerfile", () => {
  const all = instructions(read("Dockerfile"));
  const [build, runtime, ...more] = stages(all);

  it("builds in one stage and runs from another, both on Node 20 slim", () => {
    expect(more).toEqual([]);
    for (const stage of [build!, runtime!])
      expect(stage.from).toMatch(/^node:20(\.\d+){0,2}-(bookworm-|bullseye-)?slim$/);
    const runs = (s: typeof build) => s!.body.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(runs(build).join("\n")).toMatch(/npm ci(\s|$)/);
    expect(runs(build).join("\n")).toContain("npm run build");
    expect(runs(runtime).join("\n")).toContain("npm ci --omit=dev");
    const copies = runtime!.body.filter((i) => i.op === "COPY").map((i) => i.args);
    expect(copies).toContain(`--from=${build!.name} /app/dist ./dist`);
    // What the compiled code reads beside itself at run time.
    expect(copies.some((c) => c.startsWith("drizzle "))).toBe(true);
    expect(copies.some((c) => c.startsWith("pim.example.yaml "))).toBe(true);
  });

  it("runs as a user other than root, set before the command", () => {
    const body = runtime!.body;
    const user = body.filter((i) => i.op === "USER").at(-1);
    expect(user).toBeDefined();
    expect(["root", "0", "0:0"]).not.toContain(user!.args.trim());
    expect(body.indexOf(user!)).toBeLessThan(body.findIndex((i) => i.op === "CMD"));
  });

  it("starts the compiled bot directly, so SIGTERM reaches node", () => {
    const cmd = runtime!.body.filter((i) => i.op === "CMD").at(-1)!;
    expect(JSON.parse(cmd.args)).toEqual(["node", "dist/main.js"]);
  });

  it("checks health on /readyz at the port it listens on", () => {
    const check = runtime!.body.find((i) => i.op === "HEALTHCHECK");
    expect(check?.args).toMatch(/--interval=\d+s/);
    expect(check?.args).toContain("/readyz");
    const env = runtime!.body
      .filter((i) => i.op === "ENV")
      .map((i) => i.args)
      .join(" ");
    const port = /PORT=(\d+)/.exec(env)?.[1];
    expect(runtime!.body.find((i) => i.op === "EXPOSE")?.args).toBe(port);
  });

  it("sets only settings the bot reads", () => {
    const names = runtime!.body.filter((i) => i.op === "ENV").flatMap((i) => envNames(i.args));
    expect(names.filter((n) => n !== "NODE_ENV" && !SETTINGS.has(n))).toEqual([]);
  });

  it("keeps out of the build context nothing the build copies", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#") && !l.startsWith("!"));
    const sources = all
      .filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const source of sources) expect(ignored, source).not.toContain(source.replace(/^\.\//, ""));
    for (const secret of [".env", "node_modules", ".git"]) expect(ignored).toContain(secret);
  });
});

describe("compose.yaml", () => {
  type Service = {
    image?: string;
    build?: unknown;
    environment?: Record<string, string>;
    depends_on?: Record<string, { condition: string }>;
    healthcheck?: { test: string[] | string };
    ports?: string[];
  };
  const compose = parse(read("compose.yaml")) as { services: Record<string, Service> };
  const { postgres, bot } = compose.services;

  it("runs PostgreSQL with a health check, and the bot only once it is healthy", () => {
    expect(postgres?.image).toMatch(/^postgres:\d+/);
    expect(JSON.stringify(postgres?.healthcheck?.test)).toContain("pg_isready");
    expect(bot?.depends_on?.postgres?.condition).toBe("service_healthy");
  });

  it("builds the bot from this repository and points it at that PostgreSQL", () => {
    expect(bot?.build).toBe(".");
    expect(bot?.environment?.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(bot?.ports).toContain(`${bot?.environment?.PORT}:${bot?.environment?.PORT}`);
  });

  it("sets only settings the bot reads", () => {
    expect(Object.keys(bot?.environment ?? {}).filter((n) => !SETTINGS.has(n))).toEqual([]);
  });
});

describe("deploy/pim-bot.service", () => {
  const sections = new Map<string, Map<string, string[]>>();
  let current = "";
  for (const raw of read("deploy/pim-bot.service").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      current = section[1]!;
      sections.set(current, new Map());
      continue;
    }
    const [key, ...value] = line.split("=");
    const entries = sections.get(current)!;
    entries.set(key!, [...(entries.get(key!) ?? []), value.join("=")]);
  }
  const service = sections.get("Service")!;
  const one = (key: string) => service.get(key)?.at(-1);

  it("runs the compiled bot as its own user, restarted on failure, stopped with SIGTERM", () => {
    expect(one("User")).toBeDefined();
    expect(one("User")).not.toBe("root");
    expect(one("ExecStart")).toMatch(/node \S*dist\/main\.js$/);
    expect(one("Restart")).toBe("on-failure");
    expect(one("KillSignal")).toBe("SIGTERM");
    expect(one("NoNewPrivileges")).toBe("yes");
    expect(sections.get("Install")?.get("WantedBy")).toEqual(["multi-user.target"]);
  });

  it("reads its settings from a file, and sets only settings the bot reads", () => {
    expect(one("EnvironmentFile")).toMatch(/^\/etc\/pim-bot\//);
    const names = (service.get("Environment") ?? []).map((v) => v.split("=")[0]!);
    expect(names.filter((n) => n !== "NODE_ENV" && !SETTINGS.has(n))).toEqual([]);
  });
});
