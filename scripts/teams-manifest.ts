/**
 * `npm run manifest:teams`: the Teams app package. Fills manifest/teams/manifest.json with the
 * Azure Bot's app id (MICROSOFT_APP_ID) and the bot's public URL (PUBLIC_URL), and zips it with
 * the two icons into dist/pim-bot-teams.zip, ready for "Upload a custom app" in Teams.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateRawSync } from "node:zlib";

const SOURCE = new URL("../manifest/teams/", import.meta.url);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ManifestSettings {
  appId: string;
  publicUrl: string;
}

/** What is wrong with the settings, one line per setting; empty when the package can be built. */
export function manifestProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  if (!env.MICROSOFT_APP_ID) problems.push("MICROSOFT_APP_ID: required (the Azure Bot's Microsoft App ID)");
  else if (!GUID.test(env.MICROSOFT_APP_ID)) problems.push("MICROSOFT_APP_ID: must be a GUID such as 6a3f9b2e-0c1d-…");
  if (!env.PUBLIC_URL) problems.push("PUBLIC_URL: required (where the bot is reached, https://…)");
  else if (!URL.canParse(env.PUBLIC_URL) || new URL(env.PUBLIC_URL).protocol !== "https:")
    problems.push("PUBLIC_URL: must be an https:// URL; Teams accepts no other");
  return problems;
}

/** manifest.json with its placeholders filled; throws when one is left. */
export function fillManifest(template: string, s: ManifestSettings): string {
  const url = new URL(s.publicUrl);
  const values: Record<string, string> = {
    MICROSOFT_APP_ID: s.appId.toLowerCase(),
    PUBLIC_URL: url.toString(),
    PUBLIC_HOST: url.host,
  };
  const filled = template.replace(/\$\{\{([A-Z_]+)\}\}/g, (match, name: string) => values[name] ?? match);
  const left = filled.match(/\$\{\{[A-Z_]+\}\}/);
  if (left) throw new Error(`manifest.json names ${left[0]}, which nothing fills`);
  JSON.parse(filled);
  return filled;
}

/** A zip archive (deflated entries, no directories): what Teams expects of an app package. */
export function zip(files: { name: string; data: Buffer }[], at = new Date()): Buffer {
  const time = ((at.getHours() << 11) | (at.getMinutes() << 5) | (at.getSeconds() >> 1)) & 0xffff;
  const date = (((at.getFullYear() - 1980) << 9) | ((at.getMonth() + 1) << 5) | at.getDate()) & 0xffff;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, "utf8");
    const packed = deflateRawSync(file.data, { level: 9 });
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // made by
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

export function buildPackage(s: ManifestSettings): Buffer {
  const manifest = fillManifest(readFileSync(new URL("manifest.json", SOURCE), "utf8"), s);
  return zip([
    { name: "manifest.json", data: Buffer.from(manifest, "utf8") },
    { name: "color.png", data: readFileSync(new URL("color.png", SOURCE)) },
    { name: "outline.png", data: readFileSync(new URL("outline.png", SOURCE)) },
  ]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const problems = manifestProblems(process.env);
  if (problems.length > 0) {
    console.error(`Cannot build the Teams app package:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  const out = process.argv[2] ?? "dist/pim-bot-teams.zip";
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, buildPackage({ appId: process.env.MICROSOFT_APP_ID!, publicUrl: process.env.PUBLIC_URL! }));
  console.log(`wrote ${out}: upload it in Teams (Apps → Manage your apps → Upload an app)`);
}
