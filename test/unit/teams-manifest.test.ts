import { crc32, inflateRawSync, inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildPackage, manifestProblems } from "../../scripts/teams-manifest.js";

type Json = Record<string, unknown>;

/** Reads a zip back from its central directory: names, inflated data, and whether each CRC matches. */
function unzip(archive: Buffer): Map<string, { data: Buffer; crcOk: boolean }> {
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  const files = new Map<string, { data: Buffer; crcOk: boolean }>();
  for (let i = 0; i < count; i++) {
    expect(archive.readUInt32LE(at)).toBe(0x02014b50);
    const crc = archive.readUInt32LE(at + 16);
    const size = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.subarray(at + 46, at + 46 + nameLength).toString("utf8");
    const start = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const data = inflateRawSync(archive.subarray(start, start + size));
    files.set(name, { data, crcOk: crc32(data) === crc });
    at += 46 + nameLength;
  }
  return files;
}

/** Width, height, colour type and the alpha of every pixel of an 8-bit RGBA PNG without interlacing. */
function readPng(png: Buffer) {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const colorType = png[25];
  const idat = png.subarray(png.indexOf("IDAT") + 4, png.indexOf("IEND") - 8);
  const raw = inflateSync(idat);
  const alpha = (x: number, y: number) => raw[y * (width * 4 + 1) + 1 + x * 4 + 3]!;
  return { width, height, colorType, alpha };
}

describe("Teams app package", () => {
  const appId = "6A3F9B2E-0C1D-4E5F-8A7B-9C0D1E2F3A4B";
  const files = unzip(buildPackage({ appId, publicUrl: "https://pim.example.com/bot" }));
  const manifest = JSON.parse(files.get("manifest.json")!.data.toString("utf8")) as Json;
  const bot = (manifest.bots as Json[])[0]!;

  it("holds the manifest and the two icons at its root, intact", () => {
    expect([...files.keys()]).toEqual(["manifest.json", "color.png", "outline.png"]);
    for (const f of files.values()) expect(f.crcOk).toBe(true);
  });

  it("names the Azure Bot's app id and the bot's public host, and nothing is left unfilled", () => {
    expect(manifest.id).toBe(appId.toLowerCase());
    expect(bot.botId).toBe(appId.toLowerCase());
    expect(manifest.validDomains).toEqual(["pim.example.com"]);
    expect(files.get("manifest.json")!.data.toString()).not.toContain("${{");
    expect(manifest.manifestVersion).toBe("1.22");
    expect(String(manifest.$schema)).toContain("/v1.22/MicrosoftTeams.schema.json");
  });

  it("offers the commands in the personal chat's command menu, within the manifest's limits", () => {
    const [personal] = bot.commandLists as { scopes: string[]; commands: { title: string; description: string }[] }[];
    expect(personal!.scopes).toEqual(["personal"]);
    expect(personal!.commands.map((c) => c.title)).toEqual([
      "elevate",
      "status",
      "end",
      "extend",
      "pending",
      "roles",
      "active",
      "revoke",
      "admin",
      "help",
    ]);
    expect(personal!.commands.length).toBeLessThanOrEqual(10);
    for (const c of personal!.commands) {
      expect(c.title.length).toBeLessThanOrEqual(32);
      expect(c.description.length).toBeLessThanOrEqual(128);
    }
    expect(bot.scopes).toEqual(["personal", "team"]);
    expect(String((manifest.name as Json).short).length).toBeLessThanOrEqual(30);
    expect(String((manifest.description as Json).short).length).toBeLessThanOrEqual(80);
    expect(String((manifest.description as Json).full).length).toBeLessThanOrEqual(4000);
  });

  it("has a 192×192 colour icon and a 32×32 outline icon that is white on transparent", () => {
    const color = readPng(files.get("color.png")!.data);
    expect([color.width, color.height, color.colorType]).toEqual([192, 192, 6]);
    const outline = readPng(files.get("outline.png")!.data);
    expect([outline.width, outline.height, outline.colorType]).toEqual([32, 32, 6]);
    expect(outline.alpha(0, 0)).toBe(0);
    const alphas = Array.from({ length: 32 * 32 }, (_, i) => outline.alpha(i % 32, Math.floor(i / 32)));
    expect(alphas.filter((a) => a === 0).length).toBeGreaterThan(300);
    expect(alphas.filter((a) => a === 255).length).toBeGreaterThan(50);
  });

  it("refuses to build without an app id and an https URL, naming each setting", () => {
    expect(manifestProblems({})).toEqual([
      "MICROSOFT_APP_ID: required (the Azure Bot's Microsoft App ID)",
      "PUBLIC_URL: required (where the bot is reached, https://…)",
    ]);
    expect(manifestProblems({ MICROSOFT_APP_ID: "my-bot", PUBLIC_URL: "http://localhost:3000" })).toEqual([
      "MICROSOFT_APP_ID: must be a GUID such as 6a3f9b2e-0c1d-…",
      "PUBLIC_URL: must be an https:// URL; Teams accepts no other",
    ]);
  });
});
