import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhookSignature, type WebhookEvent } from "../../src/connectors/webhook.js";

export interface Delivery {
  event: WebhookEvent;
  /** Whether x-pim-signature verified against the receiver's secret. */
  verified: boolean;
  headers: IncomingMessage["headers"];
}

/** How the receiver answers one delivery: a status and body, or "hang" (never answer). */
export type Answer = { status: number; body?: string } | "hang";

/**
 * A real HTTP receiver on loopback that verifies signatures the way the README tells receivers
 * to, records every delivery, and answers as the test scripts it (default: 200).
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private script: ((d: Delivery, n: number) => Answer) | undefined;
  private readonly hanging: ServerResponse[] = [];
  private server: Server | undefined;
  url = "";

  constructor(readonly secret: string) {}

  /** Answers deliveries with this function of the delivery and its 0-based index. */
  answer(script: (d: Delivery, n: number) => Answer): void {
    this.script = script;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const verified = verifyWebhookSignature(
          this.secret,
          req.headers["x-pim-timestamp"] as string | undefined,
          body,
          req.headers["x-pim-signature"] as string | undefined,
          Date.now(),
          5 * 60_000,
        );
        const delivery: Delivery = { event: JSON.parse(body) as WebhookEvent, verified, headers: req.headers };
        const n = this.deliveries.push(delivery) - 1;
        const answer = this.script ? this.script(delivery, n) : { status: verified ? 200 : 401 };
        if (answer === "hang") {
          this.hanging.push(res);
          return;
        }
        res.writeHead(answer.status, { "content-type": "text/plain" }).end(answer.body ?? "");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/pim`;
    return this;
  }

  of(type: "grant" | "revoke"): Delivery[] {
    return this.deliveries.filter((d) => d.event.type === type);
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
