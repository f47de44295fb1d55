import { createHash, timingSafeEqual } from "node:crypto";

/**
 * A check of `Authorization: Bearer <token>` against a configured token. Both sides are hashed
 * first, so the comparison takes the same time whatever was sent.
 */
export function bearerCheck(token: string): (header: string | undefined) => boolean {
  const expected = digest(token);
  return (header) => {
    const given = /^Bearer (.+)$/i.exec(header ?? "")?.[1]?.trim() ?? "";
    return given !== "" && timingSafeEqual(digest(given), expected);
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
