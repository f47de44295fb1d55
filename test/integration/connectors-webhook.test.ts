import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deactivate } from "../../src/app/activation/end.js";
import { requestActivation } from "../../src/app/activation/request.js";
import { signWebhook, verifyWebhookSignature } from "../../src/connectors/webhook-signature.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { getActivation } from "../../src/db/repos/activations.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeEachDatabase } from "../support/databases.js";
import { createHarness, type Harness, parseConfig } from "../support/harness.js";
import { webhookPolicy } from "../support/policies.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const SECRET = "whsec-test-4f9a1c2e8b7d";

describe("webhook signatures", () => {
  const now = Date.UTC(2026, 10, 2, 9, 0, 0);
  const ts = String(now / 1000);
  const body = '{"type":"grant"}';
  const header = signWebhook(SECRET, ts, body);

  it("verifies the exact body and timestamp under the secret", () => {
    expect(header).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, ts, body, header, now, 300_000)).toBe(true);
  });

  it("refuses a changed body, another secret, another timestamp, or a stale delivery", () => {
    expect(verifyWebhookSignature(SECRET, ts, `${body} `, header, now, 300_000)).toBe(false);
    expect(verifyWebhookSignature("another-secret", ts, body, header, now, 300_000)).toBe(false);
    expect(verifyWebhookSignature(SECRET, String(now / 1000 + 1), body, header, now, 300_000)).toBe(false);
    expect(verifyWebhookSignature(SECRET, ts, body, header, now + 300_001, 300_000)).toBe(false);
    expect(verifyWebhookSignature(SECRET, ts, body, undefined, now, 300_000)).toBe(false);
    expect(verifyWebhookSignature(SECRET, "12x", body, header, now, 300_000)).toBe(false);
  });

  it("accepts any one of several signatures, for secret rotation", () => {
    const old = signWebhook("old-secret", ts, body);
    expect(verifyWebhookSignature(SECRET, ts, body, `${old}, ${header}`, now, 300_000)).toBe(true);
  });
});

describeEachDatabase("webhook connector", (driver) => {
  let receiver: WebhookReceiver;
  let e: Harness;

  async function setUp(timeout = "2s") {
    receiver = await new WebhookReceiver(SECRET).start();
    e = await createHarness(driver, parseConfig(webhookPolicy(receiver.url, { timeout })), {
      env: { PIM_TEST_WEBHOOK_SECRET: SECRET },
    });
  }
  afterEach(async () => {
    await e?.dispose();
    await receiver?.stop();
  });

  async function activate(user = "alice") {
    const r = await requestActivation(e.deps, {
      requesterId: await e.user(user),
      roles: [{ roleId: await e.role("app-admin") }],
      durationMs: HOUR,
      origin: "api",
    });
    if (!r.ok) throw new Error(r.error.message);
    return r.value.activations[0]!;
  }

  async function audit(event: string) {
    return queryAudit(e.deps.db, { event });
  }

  describe("deliveries", () => {
    beforeEach(() => setUp());

    it("sends signed grant and revoke events that a receiver verifies", async () => {
      const a = await activate();
      await e.worker.drain();
      expect((await getActivation(e.deps.db, a.id))!.status).toBe("active");
      const [grant] = receiver.of("grant");
      expect(grant!.verified).toBe(true);
      expect(grant!.headers["content-type"]).toBe("application/json");
      expect(grant!.headers["x-pim-timestamp"]).toMatch(/^\d{10}$/);
      expect(grant!.event).toEqual({
        type: "grant",
        principal: "alice",
        login: "alice",
        role: "app-admin",
        scope: "/",
        until: new Date(e.clock.now().getTime() + HOUR).toISOString(),
        activationId: a.id,
        idempotencyKey: expect.stringMatching(/^job_/),
        sentAt: expect.any(String),
      });

      await deactivate(e.deps, a.id, await e.user("alice"));
      await e.worker.drain();
      const [revoke] = receiver.of("revoke");
      expect(revoke!.verified).toBe(true);
      expect(revoke!.event).toMatchObject({ type: "revoke", login: "alice", activationId: a.id, until: null });
      expect(revoke!.event.idempotencyKey).not.toBe(grant!.event.idempotencyKey);
      expect((await getActivation(e.deps.db, a.id))!.status).toBe("ended");
      expect((await audit("connector.revoke.succeeded"))[0]!.data).toMatchObject({ connector: "webhook" });
    });

    it("retries a 503 with backoff, then succeeds with the same idempotency key", async () => {
      receiver.answer((_d, n) => (n === 0 ? { status: 503, body: "busy" } : { status: 200 }));
      const a = await activate();
      await e.worker.drain();
      expect((await getActivation(e.deps.db, a.id))!.status).toBe("activating");
      const [failed] = await audit("connector.grant.failed");
      // backoff of attempt 1 with base 1 s and random 0.5: half the ceiling plus half of the other half.
      expect(failed!.data).toMatchObject({
        attempt: 1,
        retryable: true,
        final: false,
        error: "the receiver answered HTTP 503: busy",
        nextAttemptAt: new Date(e.clock.now().getTime() + 750).toISOString(),
      });
      expect(await e.worker.drain()).toBe(0); // not due yet
      e.clock.advance(750);
      expect(await e.worker.drain()).toBe(1);
      expect((await getActivation(e.deps.db, a.id))!.status).toBe("active");
      const keys = receiver.of("grant").map((d) => d.event.idempotencyKey);
      expect(keys).toHaveLength(2);
      expect(new Set(keys).size).toBe(1);
      expect((await audit("connector.grant.succeeded"))[0]!.data).toMatchObject({ attempt: 2 });
    });

    it("treats 408 and 429 as retryable", async () => {
      receiver.answer((_d, n) => (n === 0 ? { status: 429 } : n === 1 ? { status: 408 } : { status: 204 }));
      const a = await activate();
      await e.worker.drain();
      e.clock.advance(60_000);
      await e.worker.drain();
      e.clock.advance(60_000);
      await e.worker.drain();
      expect((await getActivation(e.deps.db, a.id))!.status).toBe("active");
      expect((await audit("connector.grant.failed")).map((r) => r.data.retryable)).toEqual([true, true]);
    });

    it("fails a 400 for good, with the receiver's words in the audit, and revokes to be safe", async () => {
      receiver.answer((d) =>
        d.event.type === "grant" ? { status: 400, body: "no such login: alice" } : { status: 200 },
      );
      const a = await activate();
      await e.worker.drain();
      const after = await getActivation(e.deps.db, a.id);
      expect(after!.status).toBe("failed");
      expect(after!.status === "failed" && after!.reason).toBe(
        "The grant failed: the receiver answered HTTP 400: no such login: alice",
      );
      const [failed] = await audit("connector.grant.failed");
      expect(failed!.subject).toBe("alice");
      expect(failed!.data).toMatchObject({
        retryable: false,
        final: true,
        error: "the receiver answered HTTP 400: no such login: alice",
      });
      expect(e.events).toContainEqual(expect.objectContaining({ type: "alert", kind: "grant_failed" }));
      expect(receiver.of("grant")).toHaveLength(1); // never retried
      expect(receiver.of("revoke").map((d) => d.event.activationId)).toEqual([a.id]);
    });
  });

  describe("time-outs", () => {
    beforeEach(() => setUp("1s"));

    it("gives up on a hanging receiver after the timeout and retries", async () => {
      receiver.answer((_d, n) => (n === 0 ? "hang" : { status: 200 }));
      const a = await activate();
      const started = Date.now();
      await e.worker.drain();
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(950);
      expect(took).toBeLessThan(5_000);
      const [failed] = await audit("connector.grant.failed");
      expect(failed!.data).toMatchObject({ retryable: true, error: "the receiver did not answer within 1000 ms" });
      e.clock.advance(1_000);
      await e.worker.drain();
      expect((await getActivation(e.deps.db, a.id))!.status).toBe("active");
    });
  });
});
