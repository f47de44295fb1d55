import type { IncomingMessage, ServerResponse } from "node:http";
import { inTransaction } from "../app/kernel/unit-of-work.js";
import { principalById } from "../db/repos/directory.js";
import { readBody } from "../http/server.js";
import { removeOwnFactor } from "./factor-steps.js";
import { finishOidc, startOidc } from "./oidc-steps.js";
import { loadPage } from "./page-state.js";
import { type MfaParts, mfaUrl } from "./parts.js";
import { submitPasskey } from "./passkey-steps.js";
import { sameOrigin, sendOutcome } from "./respond.js";
import { auditRefusal, CSRF_REFUSED, message, type Outcome, problemOutcome } from "./step-up.js";
import { findToken } from "./tokens.js";
import { confirmTotpEnrollment, submitTotpCode } from "./totp-steps.js";

/** Chat clients fetch links to draw previews; they must not see what is being confirmed. */
const LINK_PREVIEWERS =
  /Slackbot|Slack-ImgProxy|SkypeUriPreview|TeamsBot|MicrosoftPreview|facebookexternalhit|Discordbot|Twitterbot/i;

/** GET /mfa/<token>: the step-up page, or a clear page saying why the link cannot be used. */
export async function showStepUp(
  parts: MfaParts,
  raw: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (LINK_PREVIEWERS.test(req.headers["user-agent"] ?? ""))
    return sendOutcome(res, parts, message(200, "info", "Confirm it's you", "Open this link in your browser."));
  const loaded = await inTransaction(parts.deps, (work) => loadPage(parts, work.tx, raw, work.now));
  const outcome: Outcome = loaded.ok
    ? { kind: "page", status: 200, page: loaded.page }
    : loaded.problem === "not_waiting"
      ? message(409, "info", "Nothing left to confirm", loaded.message)
      : problemOutcome(loaded.problem, parts);
  sendOutcome(res, parts, outcome);
}

export type FormStep = (parts: MfaParts, raw: string, form: URLSearchParams) => Promise<Outcome>;

export const FORM_STEPS: Record<string, FormStep> = {
  totp: submitTotpCode,
  "totp/enroll": confirmTotpEnrollment,
  passkey: submitPasskey,
  "factor/remove": removeOwnFactor,
};

/** POST /mfa/<token>/<step>: a form from our page, checked for origin before anything else. */
export async function postStep(
  parts: MfaParts,
  raw: string,
  step: FormStep,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!sameOrigin(req, parts)) {
    await auditForeignPost(parts, raw, req);
    return sendOutcome(res, parts, CSRF_REFUSED);
  }
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded")
    return sendOutcome(res, parts, message(415, "error", "Not a form", "Send the form from the step-up page."));
  let body: Buffer;
  try {
    body = await readBody(req, 64 * 1024);
  } catch (error) {
    if ((error as { code?: string }).code !== "BODY_TOO_LARGE") throw error;
    return sendOutcome(res, parts, message(413, "error", "Too much data", "Send the form from the step-up page."));
  }
  const form = new URLSearchParams(body.toString("utf8"));
  sendOutcome(res, parts, await step(parts, raw, form));
}

/** GET /mfa/<token>/oidc: off to the IdP. */
export async function goToIdp(parts: MfaParts, raw: string, res: ServerResponse): Promise<void> {
  sendOutcome(res, parts, await startOidc(parts, raw));
}

/** GET /mfa/oidc/callback: back from the IdP. */
export async function backFromIdp(parts: MfaParts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const current = new URL(mfaUrl(parts, "oidc", "callback"));
  current.search = new URL(req.url ?? "/", "http://local").search;
  sendOutcome(res, parts, await finishOidc(parts, current, req.headers.cookie));
}

/** A post from another site is refused before anything is read; it is still audited, under the link's person if known. */
async function auditForeignPost(parts: MfaParts, raw: string, req: IncomingMessage): Promise<void> {
  await inTransaction(parts.deps, async (work) => {
    const found = await findToken(work.tx, raw, work.now);
    const token = found.ok ? found.token : null;
    const person = token ? ((await principalById(work.tx, token.principalId)) ?? null) : null;
    auditRefusal(work, person, token, "ORIGIN", {
      origin: String(req.headers.origin ?? "").slice(0, 200) || null,
      fetchSite: String(req.headers["sec-fetch-site"] ?? "").slice(0, 40) || null,
    });
  });
}
