import { randomBytes } from "node:crypto";

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export type IdPrefix =
  | "act"
  | "req"
  | "apv"
  | "job"
  | "usr"
  | "grp"
  | "rol"
  | "asg"
  | "pol"
  | "tok"
  | "mfa"
  | "alr"
  | "rvc"
  | "rvi"
  | "asr"
  | "dl";

/** Random ids with a type prefix (`act_5Hq…`), readable in logs and audit rows. 16 base58 chars ≈ 93 bits. */
export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(16);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${out}`;
}
