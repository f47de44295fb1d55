import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-pim-signature";
export const TIMESTAMP_HEADER = "x-pim-timestamp";

/** `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`; the timestamp is Unix seconds. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/**
 * For receivers: true when the header holds a v1 signature of this exact body and timestamp
 * under the secret, and the timestamp is within the tolerance of `now` (replays of old
 * deliveries fail). Several comma-separated signatures are accepted, for secret rotation.
 */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string | null | undefined,
  body: string,
  header: string | null | undefined,
  now: Date | number = Date.now(),
  toleranceMs = 5 * 60_000,
): boolean {
  if (!timestamp || !header || !/^\d{1,12}$/.test(timestamp)) return false;
  const nowMs = typeof now === "number" ? now : now.getTime();
  if (Math.abs(nowMs - Number(timestamp) * 1000) > toleranceMs) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  let matched = false;
  for (const candidate of header.split(",")) {
    const given = Buffer.from(candidate.trim());
    // Every candidate is compared, so the time taken does not tell which one matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched;
}
