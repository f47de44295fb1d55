import type { IncomingMessage, ServerResponse } from "node:http";
import { type MfaParts, mfaPath } from "./parts.js";
import type { Outcome } from "./step-up.js";
import { messagePage } from "./views/message-page.js";
import { stepUpPage } from "./views/step-up-page.js";

/**
 * Sent with every MFA page: no script but our own files, no framing, nothing cached, and no
 * Referer, so the token in the address never leaks to another site (the IdP included).
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

export function sendHtml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { ...PAGE_HEADERS, "content-type": "text/html; charset=utf-8" });
  res.end(body);
}

export function sendOutcome(res: ServerResponse, parts: MfaParts, outcome: Outcome): void {
  const base = mfaPath(parts);
  switch (outcome.kind) {
    case "page":
      sendHtml(res, outcome.status, stepUpPage(base, outcome.page));
      break;
    case "message":
      sendHtml(res, outcome.status, messagePage(base, outcome.tone, outcome.title, outcome.text));
      break;
    case "redirect":
      res.writeHead(303, {
        ...PAGE_HEADERS,
        location: outcome.location,
        ...(outcome.cookies ? { "set-cookie": outcome.cookies } : {}),
      });
      res.end();
      break;
    default: {
      const never: never = outcome;
      throw new Error(`unknown outcome ${String(never)}`);
    }
  }
}

export function sendAsset(res: ServerResponse, type: string, body: Buffer): void {
  res.writeHead(200, {
    ...PAGE_HEADERS,
    "content-type": type,
    "cache-control": "public, max-age=3600",
    "cross-origin-resource-policy": "same-origin",
  });
  res.end(body);
}

/**
 * Posts must come from our own pages: a browser that names another origin, or says the request
 * is cross-site, is refused before the CSRF token is even looked at. ("null" is what a browser
 * sends for our own form posts under `Referrer-Policy: no-referrer`, so it proves nothing.)
 */
export function sameOrigin(req: IncomingMessage, parts: MfaParts): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== "null" && origin !== parts.publicUrl.origin) return false;
  const site = req.headers["sec-fetch-site"];
  return site === undefined || site === "same-origin" || site === "none";
}
