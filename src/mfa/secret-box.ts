import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * AES-256-GCM for secrets at rest. The associated data (the owner's id) ties a ciphertext to
 * its row: a secret copied onto another principal's row fails to decrypt.
 *
 * A key ring: the first key seals, and every key opens, so a key can be rotated without a moment
 * in which stored secrets cannot be read (PIM_ENCRYPTION_KEY="new,old" on every replica, then
 * `pim mfa rekey`, then PIM_ENCRYPTION_KEY="new").
 */
export class SecretBox {
  private readonly keys: Buffer[];

  constructor(keys: Buffer | Buffer[]) {
    this.keys = Array.isArray(keys) ? keys : [keys];
    if (this.keys.length === 0 || this.keys.some((k) => k.length !== 32))
      throw new Error("SecretBox needs one or more 32-byte keys");
  }

  /** One base64 key, or several separated by commas: the first seals. */
  static fromBase64(text: string): SecretBox {
    return new SecretBox(keyRing(text));
  }

  seal(plaintext: string, owner: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.keys[0]!, iv);
    cipher.setAAD(Buffer.from(owner));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return ["v1", iv, body, cipher.getAuthTag()]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
  }

  open(sealed: string, owner: string): string {
    const opened = this.openWithIndex(sealed, owner);
    if (!opened) throw new Error("a sealed secret that no key opens");
    return opened.plaintext;
  }

  /** The secret and which key of the ring opened it (0: the sealing key), or null when none does. */
  openWithIndex(sealed: string, owner: string): { plaintext: string; key: number } | null {
    const [version, iv, body, tag] = sealed.split(".");
    if (version !== "v1" || !iv || !body || !tag) throw new Error("not a sealed secret");
    for (const [index, key] of this.keys.entries()) {
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
        decipher.setAAD(Buffer.from(owner));
        decipher.setAuthTag(Buffer.from(tag, "base64url"));
        const plaintext = Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]);
        return { plaintext: plaintext.toString("utf8"), key: index };
      } catch {
        // Not this key (the tag does not verify): try the next.
      }
    }
    return null;
  }
}

/** The keys of a PIM_ENCRYPTION_KEY value: base64, separated by commas. */
export function keyRing(text: string): Buffer[] {
  return text.split(",").map((k) => Buffer.from(k.trim(), "base64"));
}
