import type { RequestView } from "../../app/activation/views.js";
import { formatDuration } from "../../domain/duration.js";
import type { Factor } from "../factors.js";
import type { Offer } from "../method-plan.js";
import type { PendingAssignmentView, StepUpPage } from "../page-state.js";
import { html, type SafeHtml } from "./html.js";
import { layout } from "./layout.js";

/** The step-up page: what is being confirmed, then each way of confirming this person may use. */
export function stepUpPage(base: string, page: StepUpPage): string {
  const link = `${base}/${page.rawToken}`;
  const passkeys = page.plan.offers.some((o) => o.method === "passkey");
  const body = html`<section class="card">
<h1>${heading(page)}</h1>
<p class="lead">${intro(page)}</p>
${page.request ? summary(page.request, page.purpose === "approval") : ""}
${page.assignment ? assignmentSummary(page.assignment) : ""}
</section>
${page.notice ? html`<div class="notice ${page.notice.tone}" role="${page.notice.tone === "error" ? "alert" : "status"}">${page.notice.text}</div>` : ""}
<section class="card methods" id="methods">
<h2>${page.plan.offers.length > 0 && page.plan.offers.every((o) => o.action === "enroll") ? "Choose a method" : "Confirm it's you"}</h2>
${page.plan.notes.map((note) => html`<p class="note">${note}</p>`)}
${page.plan.offers.map((offer) => method(offer, page, link))}
</section>
${page.factors ? factorList(page.factors, page.csrf, link) : ""}
<p class="fine">This link is for ${page.person.name} only, works once and expires at ${clock(page.expiresAt)}. Do not forward it.</p>`;
  return layout({ title: heading(page), base, body, passkeys });
}

function heading(page: StepUpPage): string {
  switch (page.purpose) {
    case "activation":
      return "Confirm your activation";
    case "approval":
      return "Confirm your approval";
    case "assignment":
      return "Confirm the assignment";
    case "enroll":
    case "invite":
      return "Set up multi-factor authentication";
    default: {
      const never: never = page.purpose;
      return never;
    }
  }
}

function intro(page: StepUpPage): string {
  const who = page.person.name;
  if (page.purpose === "activation") return `${who}, you asked for the access below. Confirm it's you to go on.`;
  if (page.purpose === "approval")
    return `${who}, you clicked Approve on the request below. Your approval counts once you confirm it's you.`;
  if (page.purpose === "assignment")
    return `${who}, you made the active assignment below. It takes effect once you confirm it's you.`;
  return `${who}, set up a way to confirm it's you when you activate or approve privileged roles.`;
}

function summary(request: RequestView, forApprover: boolean): SafeHtml {
  return html`<dl class="summary">
${forApprover ? html`<dt>Requested by</dt><dd>${request.requester.name}</dd>` : ""}
<dt>${request.roles.length === 1 ? "Role" : "Roles"}</dt>
<dd><ul class="roles">${request.roles.map(
    (r) => html`<li><strong>${r.roleName}</strong> <span class="scope">${r.scope}</span></li>`,
  )}</ul></dd>
<dt>Duration</dt><dd>${formatDuration(request.durationMs)}</dd>
<dt>Justification</dt><dd>${request.justification ?? html`<span class="none">none given</span>`}</dd>
${request.ticket ? html`<dt>Ticket</dt><dd>${request.ticket}</dd>` : ""}
<dt>Requested</dt><dd>${clock(request.requestedAt)}</dd>
</dl>`;
}

function assignmentSummary(a: PendingAssignmentView): SafeHtml {
  return html`<dl class="summary">
<dt>Assigned</dt><dd>${a.principalName}</dd>
<dt>Role</dt><dd><strong>${a.roleName}</strong> <span class="scope">${a.scope}</span>, active</dd>
<dt>From</dt><dd>${a.startsAt ? clock(a.startsAt) : "now"}</dd>
<dt>Until</dt><dd>${a.endsAt ? clock(a.endsAt) : "permanent"}</dd>
<dt>Justification</dt><dd>${a.justification ?? html`<span class="none">none given</span>`}</dd>
</dl>`;
}

function method(offer: Offer, page: StepUpPage, link: string): SafeHtml {
  const csrf = html`<input type="hidden" name="csrf" value="${page.csrf}">`;
  if (offer.method === "totp" && offer.action === "verify") {
    return html`<form class="method" method="post" action="${link}/totp">
<h3>Authenticator app</h3>
<label for="code">Enter the 6-digit code your app shows</label>
<div class="row"><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required autofocus>
<button type="submit">Confirm</button></div>
${csrf}
</form>`;
  }
  if (offer.method === "totp") {
    const enrollment = page.totpEnrollment!;
    const label = "Set up";
    return html`<form class="method" method="post" action="${link}/totp/enroll">
<h3>Set up an authenticator app</h3>
<div class="enroll">
<img class="qr" src="${enrollment.qrDataUrl}" alt="QR code for your authenticator app" width="208" height="208">
<div>
<p>Scan the code with your authenticator app, or type this key:</p>
<p><code id="totp-secret" class="secret">${enrollment.secret}</code></p>
<label for="enroll-code">Then enter the 6-digit code it shows</label>
<div class="row"><input id="enroll-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required>
<button type="submit">${label}</button></div>
</div>
</div>
${csrf}
</form>`;
  }
  if (offer.method === "passkey") {
    const enroll = offer.action === "enroll";
    return html`<form class="method passkey" method="post" action="${link}/passkey" data-passkey="${offer.action}" data-options="${page.passkeyOptions ?? ""}">
<h3>${enroll ? "Create a passkey" : "Passkey"}</h3>
<p>${enroll ? "Use this device's screen lock or a security key." : "Use your passkey: fingerprint, face or PIN."}</p>
<input type="hidden" name="action" value="${offer.action}">
<input type="hidden" name="response" value="">
${csrf}
<button type="button" class="passkey-button" disabled>${enroll ? "Create a passkey" : "Use your passkey"}</button>
<noscript><p class="note">Passkeys need JavaScript; use another method, or turn JavaScript on for this page.</p></noscript>
<p class="note passkey-status" role="status" hidden></p>
</form>`;
  }
  return html`<div class="method">
<h3>Your organisation's sign-in</h3>
<p>Sign in again with your company account and its second factor.</p>
<a class="button" href="${link}/oidc" id="oidc-start">Sign in with your organisation</a>
</div>`;
}

const FACTOR_NAMES: Record<Factor["method"], string> = { totp: "Authenticator app", passkey: "Passkey" };

/** The person's own factors, each with a Remove button. */
function factorList(factors: Factor[], csrf: string, link: string): SafeHtml {
  return html`<section class="card factors" id="factors">
<h2>Your ways to confirm it's you</h2>
${factors.length === 0 ? html`<p class="note">None yet.</p>` : ""}
<ul class="factor-list">${factors.map(
    (f) => html`<li class="factor" data-factor="${f.id}">
<span><strong>${FACTOR_NAMES[f.method]}</strong> added ${clock(f.createdAt)}${f.usableAt > f.createdAt ? html`, counts from ${clock(f.usableAt)}` : ""}</span>
<form method="post" action="${link}/factor/remove"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="factor" value="${f.id}"><button type="submit" class="secondary">Remove</button></form>
</li>`,
  )}</ul>
</section>`;
}

function clock(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
