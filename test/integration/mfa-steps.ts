import { expect } from "vitest";
import type { EngineEvent } from "../../src/app/kernel/events.js";
import type { MfaApp } from "../support/mfa-app.js";

export { RecordingDelivery } from "../support/mfa-app.js";

/**
 * Waits until the bot's own listeners (the alert triggers, the factor notices) have handled every
 * engine event so far, and returns the events since the last call.
 */
export async function deliverEvents(app: MfaApp): Promise<EngineEvent[]> {
  await app.bot.idle();
  return app.e.events.splice(0);
}

/** Plain HTTP against the MFA pages, as a browser without JavaScript would use them. */
export function pageClient(app: MfaApp) {
  const url = (path: string) => `http://127.0.0.1:${app.port}${path}`;
  async function page(link: string): Promise<{ status: number; html: string; csrf: string | null }> {
    const res = await fetch(url(new URL(link).pathname));
    const html = await res.text();
    return { status: res.status, html, csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? null };
  }
  async function post(
    link: string,
    step: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; html: string }> {
    const res = await fetch(url(`${new URL(link).pathname}/${step}`), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields),
    });
    return { status: res.status, html: await res.text() };
  }
  /** Sets up an authenticator app on a setup or invitation link; returns its secret and the answer. */
  async function enrollTotpOn(link: string): Promise<{ secret: string; status: number; html: string }> {
    const shown = await page(link);
    const secret = /id="totp-secret"[^>]*>([A-Z2-7]+)</.exec(shown.html)?.[1];
    expect(secret, "the page offers an authenticator app").toBeDefined();
    const done = await post(link, "totp/enroll", { csrf: shown.csrf!, code: await app.code(secret!) });
    return { secret: secret!, ...done };
  }
  /** An administrator's invitation, used at once to set up an authenticator app. */
  async function invitedTotp(user: string): Promise<string> {
    const invited = await app.mfa.invite(user, "carol");
    if (!invited.ok) throw new Error(invited.error.message);
    const { secret, html } = await enrollTotpOn(invited.value.link);
    expect(html).toContain("You&#39;re set up");
    app.e.clock.advance(30_000);
    return secret;
  }
  return { url, page, post, enrollTotpOn, invitedTotp };
}

/** A code the secret does not produce now. */
export function wrongCode(right: string): string {
  return String((Number(right) + 1) % 1_000_000).padStart(6, "0");
}
