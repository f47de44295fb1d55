/**
 * Draws the Teams app icons with nothing but Node: color.png (192×192, full colour) and
 * outline.png (32×32, white on transparent), as Teams' app manifest asks. The shape is a shield
 * with a keyhole. Run `npx tsx scripts/teams-icons.ts` to redraw them into manifest/teams/.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { crc32, deflateSync } from "node:zlib";

type Rgba = [number, number, number, number];

/** A PNG of 8-bit RGBA pixels: signature, IHDR, one IDAT, IEND. */
export function encodePng(width: number, height: number, pixel: (x: number, y: number) => Rgba): Buffer {
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), y * (width * 4 + 1) + 1 + x * 4);
  }
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "ascii");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit, RGBA, deflate, no filter method, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Inside the shield, in coordinates where the icon spans 0..1: flat top, sides curving to a point. */
function inShield(u: number, v: number, inset = 0): boolean {
  const top = 0.16 + inset;
  const bottom = 0.88 - inset;
  if (v < top || v > bottom) return false;
  const t = (v - top) / (bottom - top);
  const half = (t < 0.45 ? 0.32 : 0.32 * Math.cos(((t - 0.45) / 0.55) * (Math.PI / 2))) - inset;
  return Math.abs(u - 0.5) <= half;
}

function inKeyhole(u: number, v: number): boolean {
  const round = (u - 0.5) ** 2 + (v - 0.43) ** 2 <= 0.075 ** 2;
  const slot = Math.abs(u - 0.5) <= 0.035 + (v - 0.43) * 0.12 && v >= 0.43 && v <= 0.66;
  return round || slot;
}

/** Averages a few samples per pixel, so edges are smooth rather than jagged. */
function sampled(size: number, inside: (u: number, v: number) => boolean, x: number, y: number): number {
  const n = 4;
  let hits = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) if (inside((x + (i + 0.5) / n) / size, (y + (j + 0.5) / n) / size)) hits++;
  return hits / (n * n);
}

export function colorIcon(): Buffer {
  const size = 192;
  const blue: Rgba = [47, 91, 234, 255];
  return encodePng(size, size, (x, y) => {
    const shield = sampled(size, (u, v) => inShield(u, v) && !inKeyhole(u, v), x, y);
    const mix = (a: number, b: number) => Math.round(a * (1 - shield) + b * shield);
    return [mix(blue[0], 255), mix(blue[1], 255), mix(blue[2], 255), 255];
  });
}

export function outlineIcon(): Buffer {
  const size = 32;
  return encodePng(size, size, (x, y) => {
    const ring = sampled(size, (u, v) => inShield(u, v) && !inShield(u, v, 0.09), x, y);
    const hole = sampled(size, inKeyhole, x, y);
    return [255, 255, 255, Math.round(255 * Math.min(1, ring + hole))];
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = new URL("../manifest/teams/", import.meta.url);
  writeFileSync(new URL("color.png", dir), colorIcon());
  writeFileSync(new URL("outline.png", dir), outlineIcon());
  console.log("wrote manifest/teams/color.png (192×192) and manifest/teams/outline.png (32×32)");
}
