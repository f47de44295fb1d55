import {
  type Connector,
  type ConnectorResult,
  type GrantRequest,
  permanent,
  type RevokeRequest,
  retryable,
} from "./connector.js";
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from "./webhook-signature.js";

export { verifyWebhookSignature } from "./webhook-signature.js";

export interface WebhookTarget {
  url: string;
  /** The HMAC key; never logged, never sent. */
  secret: string;
  timeoutMs: number;
}

/** The JSON body of every delivery; receivers rely on these names. */
export interface WebhookEvent {
  type: "grant" | "revoke";
  principal: string;
  login: string;
  role: string;
  scope: string;
  /** When the grant should end (ISO 8601), for targets that enforce expiry themselves; null for revokes. */
  until: string | null;
  activationId: string | null;
  /** The same for every attempt of one job: a receiver that has seen it may answer 2xx and do nothing. */
  idempotencyKey: string;
  sentAt: string;
}

/**
 * POSTs a signed JSON event per grant or revoke. 2xx is success; 408, 429 and 5xx, timeouts
 * and network errors are retried; any other answer is a permanent refusal.
 */
export class WebhookConnector implements Connector {
  readonly type = "webhook";
  constructor(
    private readonly target: WebhookTarget,
    private readonly now: () => Date = () => new Date(),
  ) {}

  grant(req: GrantRequest): Promise<ConnectorResult> {
    return this.deliver({ type: "grant", ...this.common(req), until: req.until?.toISOString() ?? null }, req.signal);
  }

  revoke(req: RevokeRequest): Promise<ConnectorResult> {
    return this.deliver({ type: "revoke", ...this.common(req), until: null }, req.signal);
  }

  /** A webhook cannot be asked what it holds. */
  async list(): Promise<undefined> {
    return undefined;
  }

  private common(req: RevokeRequest) {
    return {
      principal: req.principalKey,
      login: req.login,
      role: req.roleKey,
      scope: req.scope,
      activationId: req.activationId,
      idempotencyKey: req.idempotencyKey,
    };
  }

  private async deliver(event: Omit<WebhookEvent, "sentAt">, given?: AbortSignal): Promise<ConnectorResult> {
    const timeout = AbortSignal.timeout(this.target.timeoutMs);
    const sentAt = this.now();
    const body = JSON.stringify({ ...event, sentAt: sentAt.toISOString() } satisfies WebhookEvent);
    const timestamp = String(Math.floor(sentAt.getTime() / 1000));
    let response: Response;
    try {
      response = await fetch(this.target.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "pim-bot-webhook/1",
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signWebhook(this.target.secret, timestamp, body),
        },
        body,
        redirect: "manual",
        signal: given ? AbortSignal.any([timeout, given]) : timeout,
      });
    } catch (error) {
      return retryable(this.failureText(error));
    }
    const excerpt = await readExcerpt(response);
    const status = response.status;
    if (status >= 200 && status < 300) return { ok: true, detail: `HTTP ${status}` };
    const said = `the receiver answered HTTP ${status}${excerpt ? `: ${excerpt}` : ""}`;
    if (status === 408 || status === 429 || status >= 500) return retryable(said);
    if (status >= 300 && status < 400) return permanent(`${said} (redirects are not followed; fix the URL)`);
    return permanent(said);
  }

  private failureText(error: unknown): string {
    const name = (error as { name?: string }).name;
    if (name === "TimeoutError" || name === "AbortError")
      return `the receiver did not answer within ${this.target.timeoutMs} ms`;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    return `could not reach the receiver at ${new URL(this.target.url).origin}: ${why}`;
  }
}

/** The start of a refusal's body, for the audit entry; never more than a short line. */
async function readExcerpt(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.replace(/\s+/g, " ").trim().slice(0, 200);
  } catch {
    return "";
  }
}
