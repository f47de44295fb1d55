import { expect } from "vitest";
import type { EngineEvent } from "../../src/app/context.js";
import type { ChatMessage, Delivery } from "../../src/app/delivery.js";
import { AlertTriggers } from "../../src/app/evaluate-alerts.js";
import type { PersonView } from "../../src/app/queries.js";
import { FactorNotices } from "../../src/mfa/factor-notices.js";
import type { MfaApp } from "../support/mfa-app.js";

/** What reached people and the alert channel, as the Delivery port saw it. */
export class RecordingDelivery implements Delivery {
  readonly toPeople: { person: string; message: ChatMessage }[] = [];
  readonly toChannel: ChatMessage[] = [];
  async toPerson(person: PersonView, message: ChatMessage): Promise<boolean> {
    this.toPeople.push({ person: person.key, message });
    return true;
  }
  async toAlertChannel(message: ChatMessage): Promise<boolean> {
    this.toChannel.push(message);
    return true;
  }
  /** Alerts posted to the channel, in order. */
  alerts() {
    return this.toChannel.flatMap((m) => (m.type === "alert" ? [m.alert] : []));
  }
  /** Factor notices sent to people, in order. */
  factorNotices() {
    return this.toPeople.flatMap((m) =>
      m.message.type === "mfa.factor" ? [{ to: m.person, ...m.message.notice }] : [],
    );
  }
}

/**
 * Hands the engine events published so far to the listeners production subscribes (the alert
 * triggers and the factor notices) and waits until they are done.
 */
export async function deliverEvents(app: MfaApp, delivery: RecordingDelivery): Promise<EngineEvent[]> {
  const errors: unknown[] = [];
  const triggers = new AlertTriggers(app.e.deps, delivery, (e) => errors.push(e));
  const notices = new FactorNotices(app.e.deps, delivery, (e) => errors.push(e));
  const events = app.e.events.splice(0);
  for (const event of events) {
    triggers.onEvent(event);
    notices.onEvent(event);
  }
  await triggers.idle();
  await notices.idle();
  expect(errors).toEqual([]);
  return events;
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
